"""The action kinds the product knows: each feature registers its own (tags, fields, templates, scenarios,
surveys, rich menus, attention), so the engine names none of them and one list of actions exists."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from sqlmodel import Session

from crm.errors import TranslatableError


class ActionError(TranslatableError):
    """An action that cannot be stored or run as given (`field`/`code` for forms and the API)."""


@dataclass(frozen=True)
class ActionContext:
    """What a running action knows: the open session of its trigger, the friend, and where it came from."""

    session: Session
    friend_id: int
    params: dict
    trigger_key: str  # unique per trigger occurrence: derive retry keys and nested trigger keys from it
    source: str  # shown in the friend's history, e.g. "survey:3", "link:12", "scenario:4"
    run_id: int | None = None  # the action_run row
    reply_token: str | None = None  # the trigger's, when it came from an event LINE sent with one
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ActionKind:
    """One kind of action.

    `validate(session, params) -> params` normalises what a builder or the API gives (raise ActionError);
    `run(context) -> bool` performs it in the trigger's transaction, writing to the database only (messages go
    through crm.sending, which sends after commit) and returns False when there was nothing to do (skipped);
    `describe(session, params) -> str` says it in the console's language, e.g. 「タグ「VIP」を付ける」;
    `run_many(session, friend_ids, params, source) -> friend ids`, when a kind has it, performs the same action
    for many friends at once (the worker's batches) and returns those it did something for.
    """

    kind: str
    label: str  # N_() message id, translated where shown
    validate: Callable[[Session, dict], dict]
    run: Callable[[ActionContext], bool]
    describe: Callable[[Session, dict], str]
    run_many: Callable[[Session, list[int], dict, str], Collection[int]] | None = None


_kinds: dict[str, ActionKind] = {}


def register_kind(action_kind: ActionKind) -> ActionKind:
    """Make a kind known (registering the same kind object again has no effect; another with its name fails)."""
    known = _kinds.get(action_kind.kind)
    if known is not None and known is not action_kind:
        raise ValueError(f"action kind {action_kind.kind!r} is already registered")
    _kinds[action_kind.kind] = action_kind
    return action_kind


def kind_of(name: str) -> ActionKind | None:
    """The registered kind called `name`, or None."""
    return _kinds.get(name)


def kinds() -> list[ActionKind]:
    """Every registered kind, in registration order."""
    return list(_kinds.values())
