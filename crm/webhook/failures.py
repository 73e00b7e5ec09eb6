"""Events whose handling raised: kept aside with their error, listed for admins, resolved once handled."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import bindparam, delete, update
from sqlmodel import Session, select

from crm.errors import N_, TranslatableError
from crm.sql import insert_for
from crm.timeutil import UTCDateTime
from crm.webhook.models import FailedWebhookEvent

ERROR_MESSAGE_MAX = 500
_RESOLVE = (
    update(FailedWebhookEvent.__table__)
    .where(
        FailedWebhookEvent.__table__.c.webhook_event_id == bindparam("key"),
        FailedWebhookEvent.__table__.c.resolved_at.is_(None),
    )
    .values(resolved_at=bindparam("now", type_=UTCDateTime()))
)


class FailedEventError(TranslatableError):
    """A failed event that cannot be retried (it no longer exists)."""


def _user_id(event: dict) -> str | None:
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    user_id = source.get("userId")
    return user_id if isinstance(user_id, str) and 0 < len(user_id) <= 64 else None


def record_failure(session: Session, *, key: str, event: dict, error: BaseException, now: datetime) -> None:
    """Keep the event aside with its error; a second failure of the same event counts an attempt."""
    table = FailedWebhookEvent.__table__
    error_fields = {
        "error_class": type(error).__name__[:120],
        "error_message": (str(error) or type(error).__name__)[:ERROR_MESSAGE_MAX],
        "last_failed_at": now,
    }
    statement = (
        insert_for(session, table)
        .values(
            webhook_event_id=key,
            event_type=str(event.get("type") or "unknown")[:40],
            line_user_id=_user_id(event),
            payload=json.dumps(event, ensure_ascii=False),
            attempts=1,
            first_failed_at=now,
            resolved_at=None,
            **error_fields,
        )
        .on_conflict_do_update(
            index_elements=["webhook_event_id"],
            set_={**error_fields, "attempts": table.c.attempts + 1, "resolved_at": None},
        )
    )
    session.exec(statement)


def resolve(session: Session, *, key: str, now: datetime) -> bool:
    """Mark the event's failure (if any) handled, in the transaction that handles the event; return whether an
    unresolved failure was there (of two retries at once, only one finds it)."""
    return session.connection().execute(_RESOLVE, {"key": key, "now": now}).rowcount == 1


def list_failures(session: Session, *, limit: int = 200) -> list[FailedWebhookEvent]:
    """Unresolved failures first, then the latest resolved ones; newest first within each."""
    query = (
        select(FailedWebhookEvent)
        .order_by(FailedWebhookEvent.resolved_at.is_not(None), FailedWebhookEvent.last_failed_at.desc())
        .limit(limit)
    )
    return list(session.exec(query))


def get_failure(session: Session, failure_id: int) -> FailedWebhookEvent:
    """The failure with this id; FailedEventError when it is gone (pruned or erased)."""
    failure = session.get(FailedWebhookEvent, failure_id)
    if failure is None:
        raise FailedEventError(N_("This event is no longer kept."))
    return failure


def failed_webhook_events(session: Session, *, friend_id: int, line_user_id: str) -> int:
    """Erasure scrubber (named for its count): drop the friend's failed events; return rows removed."""
    return session.exec(delete(FailedWebhookEvent).where(FailedWebhookEvent.line_user_id == line_user_id)).rowcount


def delete_resolved_before(session: Session, *, cutoff: datetime) -> int:
    """Drop failures resolved before cutoff (their event is stored and handled); return rows removed."""
    statement = delete(FailedWebhookEvent).where(
        FailedWebhookEvent.resolved_at.is_not(None), FailedWebhookEvent.resolved_at < cutoff
    )
    return session.exec(statement).rowcount
