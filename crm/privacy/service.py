"""A friend's data on request: everything we hold about one friend (JSON), and erasure.

Erasure keeps the friend row and every id-only row (tags, broadcast recipients, clicks, survey choices) so
counts and reports stay right, and removes or blanks every value that identifies or describes the person:
profile, notes, field values, message texts, free-text answers, click user agents, webhook payloads, link
tokens, and the audit snapshots about them. The LINE user id is replaced by "erased:<random>", so if the
person follows again, the webhook creates a new friend record. It cannot be undone.

Other packages holding friend data register a scrubber with `on_erase(callback)`; it runs in the same
transaction as callback(session, friend_id=..., line_user_id=...) and returns how many rows it changed; those adding
to the export register `on_export(key, callback)`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import delete, update
from sqlmodel import Session, select

from crm.actions.models import ActionRun
from crm.broadcasts.models import TestFriend
from crm.conversions.models import Conversion, RfmScore
from crm.errors import N_, TranslatableError
from crm.fields.models import FieldValue
from crm.friends.models import ERASED_PREFIX, Friend, FriendStatus, Message, Note
from crm.imports.models import ImportJob, ImportStatus
from crm.privacy.friend_data import SURVEY_ANSWER, friend_records, iso
from crm.richmenus.models import RichMenuLink, RichMenuRelink
from crm.scenarios import exits as scenario_exits
from crm.scenarios.models import ExitReason
from crm.staff.audit import Actor, record
from crm.staff.models import AuditEntry
from crm.timeutil import utcnow
from crm.tracking.models import ClickAction, LinkClick, LinkToken

Scrubber = Callable[..., int]
Exporter = Callable[[Session, int], object]
_scrubbers: list[Scrubber] = []
_exporters: dict[str, Exporter] = {}


class ErasureError(TranslatableError):
    """An erasure that cannot be done (unknown or already erased friend)."""


def on_erase(callback: Scrubber) -> Scrubber:
    """Register a scrubber run by every erasure (registering the same callback twice has no effect)."""
    if callback not in _scrubbers:
        _scrubbers.append(callback)
    return callback


def on_export(key: str, exporter: Exporter) -> Exporter:
    """Add `key` to every friend's data export, built by exporter(session, friend_id) (registering the key again
    replaces it)."""
    _exporters[key] = exporter
    return exporter


def is_erased(friend: Friend) -> bool:
    """Whether this friend's data was erased."""
    return friend.line_user_id.startswith(ERASED_PREFIX)


def friend_export(session: Session, friend_id: int) -> dict:
    """Everything held about one friend: profile, tags, fields, notes, answers, clicks and the conversation."""
    records = friend_records(session, [friend_id])
    if not records:
        raise ErasureError(N_("This friend no longer exists."))
    query = (
        select(Message.direction, Message.message_type, Message.text, Message.created_at)
        .where(Message.friend_id == friend_id)
        .order_by(Message.created_at, Message.id)
    )
    messages = [{"direction": d, "type": t, "text": text, "at": iso(at)} for d, t, text, at in session.exec(query)]
    extra = {key: exporter(session, friend_id) for key, exporter in _exporters.items()}
    return {**records[0], "messages": messages, **extra}


def erase_friend(session: Session, *, friend_id: int, actor: Actor) -> dict[str, int]:
    """Erase one friend's personal data (see the module docstring); return rows changed per kind, audited."""
    # Locked first: a note, field value or profile being written meanwhile either lands before the scrub (and
    # is scrubbed) or waits and then finds the friend erased.
    friend = session.get(Friend, friend_id, with_for_update=True, populate_existing=True)
    if friend is None:
        raise ErasureError(N_("This friend no longer exists."))
    if is_erased(friend):
        raise ErasureError(N_("This friend's data was already erased."))
    old_user_id = friend.line_user_id
    counts = _scrub_rows(session, friend_id, old_user_id)
    for scrubber in tuple(_scrubbers):
        counts[getattr(scrubber, "__name__", "other")] = scrubber(
            session, friend_id=friend_id, line_user_id=old_user_id
        )
    friend.line_user_id = ERASED_PREFIX + secrets.token_hex(16)
    # Setting display_name and reading fires the SQLite FTS trigger that removes them from friend_search.
    friend.display_name = friend.reading = friend.picture_url = friend.language = friend.status_message = None
    friend.profile_fetch_due_at = None
    friend.status = FriendStatus.ERASED  # never a recipient again: the LINE user id is gone
    session.add(friend)
    session.flush()
    # Only ids and counts: the entry itself must not hold what was erased.
    record(session, actor=actor, action="friend.erased", target_type="friend", target_id=friend_id, after=counts)
    return counts


def _scrub_rows(session: Session, friend_id: int, user_id: str) -> dict[str, int]:
    """Delete or blank the friend's personal values in the crm tables and the survey answers."""

    def run(statement) -> int:
        return session.exec(statement).rowcount

    return {
        "notes": run(delete(Note).where(Note.friend_id == friend_id)),
        "field_values": run(delete(FieldValue).where(FieldValue.friend_id == friend_id)),
        "messages": run(update(Message).where(Message.friend_id == friend_id).values(text=None)),
        "link_tokens": run(delete(LinkToken).where(LinkToken.friend_id == friend_id)),
        "click_user_agents": run(
            update(LinkClick)
            .where(LinkClick.friend_id == friend_id, LinkClick.user_agent.is_not(None))
            .values(user_agent=None)
        ),
        "answer_texts": run(
            update(SURVEY_ANSWER)
            .where(SURVEY_ANSWER.c.friend_id == friend_id, SURVEY_ANSWER.c.text.is_not(None))
            .values(text=None)
        ),
        "test_friend": run(delete(TestFriend).where(TestFriend.friend_id == friend_id)),
        # Conversions stay (counts and values are the shop's figures) without the order id, which the shop's own
        # records tie to a person; the RFM row goes (recomputations leave erased friends out).
        "conversion_orders": run(
            update(Conversion)
            .where(Conversion.friend_id == friend_id, Conversion.order_id.is_not(None))
            .values(order_id=None)
        ),
        "rfm_score": run(delete(RfmScore).where(RfmScore.friend_id == friend_id)),
        # The history of automatic actions: their parameters may hold personal values (a field's value).
        "action_runs": run(delete(ActionRun).where(ActionRun.friend_id == friend_id)),
        # Scenario enrolments end ("erased"); their sends not yet taken by delivery are cancelled.
        "scenario_enrolments": scenario_exits.exit_friend(
            session, friend_id=friend_id, reason=ExitReason.ERASED, now=utcnow()
        ),
        # Queued work that would address the old LINE user id (which no longer exists here).
        "queued": sum(
            run(delete(model).where(model.friend_id == friend_id))
            for model in (ClickAction, RichMenuLink, RichMenuRelink)
        ),
        # An import not applied yet keeps its file, which may name this friend: drop the file.
        "import_files": run(
            update(ImportJob)
            .where(ImportJob.content.contains(user_id))
            .values(content=None, status=ImportStatus.DISCARDED)
        ),
        "audit_snapshots": run(
            update(AuditEntry)
            .where(AuditEntry.target_type == "friend", AuditEntry.target_id == str(friend_id))
            .values(before=None, after=None)
        ),
    }
