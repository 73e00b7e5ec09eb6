"""Attention marks changed by staff or the API, written to each friend's history of actions (as done
`mark_attention` runs, sourced "staff:<id>" or the API token), next to the marks actions set."""

from __future__ import annotations

import json

from sqlmodel import Session

from crm.actions.models import ActionRun, ActionState
from crm.friends.attention import CLEAR, AttentionChange
from crm.staff.models import Staff

STAFF_SOURCE = "staff"


def record_change(session: Session, change: AttentionChange) -> None:
    """One done run per friend whose mark changed."""
    actor = change.actor
    source = f"{STAFF_SOURCE}:{actor.staff_id}" if actor.staff_id else actor.label
    trigger_key = f"attention:{source}:{change.at.isoformat()}"
    params = json.dumps({"state": change.state or CLEAR})
    session.add_all(
        ActionRun(
            trigger_key=trigger_key[:120],
            friend_id=friend_id,
            position=0,
            kind="mark_attention",
            params=params,
            source=source[:60],
            state=ActionState.DONE,
            attempts=1,
            next_attempt_at=None,
            created_at=change.at,
            finished_at=change.at,
        )
        for friend_id in change.friend_ids
    )


def describe_staff(session: Session, staff_id: int) -> str:
    """A staff member's name for the history's source."""
    staff = session.get(Staff, staff_id)
    return staff.display_name if staff else f"#{staff_id}"
