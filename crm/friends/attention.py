"""The staff attention mark (対応マーク): 要対応 / 対応中 / 対応済 or none, set by staff (friend page, bulk, API)
or by an action; every change audited. Features that keep a history of changes (the action history) listen
with `on_change`, so friends imports none of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from crm.errors import N_, TranslatableError
from crm.friends.models import Friend, FriendStatus
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow

NEEDED, IN_PROGRESS, DONE = "needed", "in_progress", "done"
CLEAR = "none"  # what forms and the API send for "no mark"
STATES = (NEEDED, IN_PROGRESS, DONE)
LABELS = {NEEDED: N_("Needs attention"), IN_PROGRESS: N_("Being handled"), DONE: N_("Handled")}
CLEAR_LABEL = N_("No mark")
AUDIT_ACTION = "friend.attention"


class AttentionError(TranslatableError):
    """A mark that is not one of the states."""


@dataclass(frozen=True)
class AttentionChange:
    """Marks changed together: who did it, when, to which state (None: cleared), on which friends."""

    friend_ids: list[int]
    state: str | None
    actor: Actor
    at: datetime


Listener = Callable[[Session, AttentionChange], None]
_listeners: list[Listener] = []


def on_change(listener: Listener) -> Listener:
    """Call listener(session, change) after staff or the API change marks (registering twice has no effect)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def parse_state(value: str | None) -> str | None:
    """A submitted state ("needed", "in_progress", "done", or "none"/"" for no mark), or AttentionError."""
    if value in (None, "", CLEAR):
        return None
    if value not in STATES:
        error = AttentionError(N_("Choose 要対応, 対応中, 対応済 or no mark."))
        error.field = "attention"
        raise error
    return value


def label_of(state: str | None) -> str:
    """The N_() message id of a state's label."""
    return LABELS.get(state, CLEAR_LABEL)


def set_attention(
    session: Session,
    *,
    friend_ids: list[int],
    state: str | None,
    actor: Actor,
    audit_each: bool = True,
    notify: bool = True,
) -> list[int]:
    """Mark friends (erased ones are left alone); return the ids whose mark changed.

    Each change is audited (`audit_each`; a bulk change writes its one entry itself) and told to the listeners
    (`notify`; an action that changes a mark is its own history)."""
    if state is not None and state not in STATES:
        raise AttentionError(N_("Choose 要対応, 対応中, 対応済 or no mark."))
    if not friend_ids:
        return []
    query = select(Friend).where(Friend.id.in_(friend_ids), Friend.status != FriendStatus.ERASED)
    changed = []
    for friend in session.exec(query.order_by(Friend.id)):
        if friend.attention == state:
            continue
        if audit_each:
            record(
                session,
                actor=actor,
                action=AUDIT_ACTION,
                target_type="friend",
                target_id=friend.id,
                before={"attention": friend.attention},
                after={"attention": state},
            )
        friend.attention = state
        session.add(friend)
        changed.append(friend.id)
    if changed and notify:
        session.flush()
        change = AttentionChange(changed, state, actor, utcnow())
        for listener in tuple(_listeners):
            listener(session, change)
    return changed
