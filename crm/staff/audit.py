"""The audit log: every change and every export or bulk view of personal data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from crm.staff.models import AuditEntry
from crm.timeutil import utcnow


@dataclass(frozen=True)
class Actor:
    """Who or what did something: a staff member, a survey, a link click, an API token, the system."""

    label: str
    staff_id: int | None = None

    @classmethod
    def staff(cls, staff_id: int, email: str) -> Actor:
        return cls(label=f"staff:{email}", staff_id=staff_id)

    @classmethod
    def api_token(cls, token_id: int, name: str) -> Actor:
        """An integration calling the REST API with a bearer token."""
        return cls(label=f"api:{name}#{token_id}")

    @classmethod
    def system(cls, what: str) -> Actor:
        return cls(label=what)


def _dump(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    target_type: str | None = None,
    target_id=None,
    before=None,
    after=None,
) -> AuditEntry:
    """Append an audit entry; before/after are JSON-serialisable snapshots."""
    entry = AuditEntry(
        actor_staff_id=actor.staff_id,
        actor=actor.label[:120],
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=_dump(before),
        after=_dump(after),
    )
    session.add(entry)
    return entry


def record_many(
    session: Session, *, actor: Actor, action: str, target_type: str, targets: Sequence[tuple[object, object, object]]
) -> None:
    """Append one entry per (target_id, before, after) in one statement: the same change done to many targets,
    each audited as `record` would (the worker's batches)."""
    if not targets:
        return
    now = utcnow()
    rows = [
        {
            "at": now,
            "actor_staff_id": actor.staff_id,
            "actor": actor.label[:120],
            "action": action,
            "target_type": target_type,
            "target_id": None if target_id is None else str(target_id),
            "before": _dump(before),
            "after": _dump(after),
        }
        for target_id, before, after in targets
    ]
    session.connection().execute(AuditEntry.__table__.insert(), rows)
