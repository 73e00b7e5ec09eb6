"""The events outbound webhooks carry, built from the changes that cause them (in the caller's transaction).

Each emitter returns at once, with no SQL, when no endpoint subscribes to its event (`emit` checks the cached
subscriptions); payloads are built only when someone does. Friends are named by our id and their LINE user id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from crm.broadcasts.delivery import schedule as delivery_schedule
from crm.broadcasts.models import Broadcast
from crm.friends.models import Friend
from crm.outbound import delivery as outbox_delivery
from crm.outbound import relay
from crm.outbound.models import CLICK_CURSOR, WebhookCursor
from crm.outbound.outbox import emit, wanted
from crm.privacy import service as privacy
from crm.scenarios import events as scenario_events
from crm.scenarios.events import ScenarioEvent
from crm.scenarios.models import Enrolment, Scenario
from crm.tags import service as tags
from crm.tags.models import Tag
from crm.tracking.clicks import settled
from crm.tracking.models import LinkClick, TrackedLink

FRIENDS_PER_TAG_EVENT = 500


def friend_refs(session: Session, friend_ids: list[int]) -> list[dict]:
    """How events name friends: our id and their LINE user id, in id order."""
    rows = session.exec(select(Friend.id, Friend.line_user_id).where(Friend.id.in_(friend_ids)).order_by(Friend.id))
    return [{"id": friend_id, "line_user_id": line_user_id} for friend_id, line_user_id in rows]


def friend_followed(session: Session, *, friend_id: int, line_user_id: str, at: datetime) -> None:
    """A follow event was handled (a new friend, or one who unblocked)."""
    emit(
        session,
        "friend.followed",
        lambda: {"friend": {"id": friend_id, "line_user_id": line_user_id}, "followed_at": at.isoformat()},
    )


def friend_blocked(session: Session, *, friend_id: int, line_user_id: str, at: datetime) -> None:
    """An unfollow (block) event was handled."""
    emit(
        session,
        "friend.blocked",
        lambda: {"friend": {"id": friend_id, "line_user_id": line_user_id}, "blocked_at": at.isoformat()},
    )


def on_tags_changed(session: Session, *, tag_id: int, friend_ids: list[int], added: bool) -> None:
    """tags.on_tags_changed listener: one event per 500 friends (a removal may list friends who lacked it)."""
    event_type = "tag.added" if added else "tag.removed"
    if not wanted(session, event_type):
        return
    tag = session.get(Tag, tag_id)
    for start in range(0, len(friend_ids), FRIENDS_PER_TAG_EVENT):
        chunk = friend_ids[start : start + FRIENDS_PER_TAG_EVENT]
        emit(
            session,
            event_type,
            lambda chunk=chunk: {
                "tag": {"id": tag_id, "name": tag.name if tag else None},
                "friends": friend_refs(session, chunk),
            },
        )


SCENARIO_EVENTS = {
    ScenarioEvent.ENROLLED: "scenario.enrolled",
    ScenarioEvent.EXITED: "scenario.exited",
    ScenarioEvent.GOAL_REACHED: "scenario.goal_reached",
}


def scenario_event(session: Session, kind: str, enrolment: Enrolment, reason: str | None) -> None:
    """crm.scenarios.events listener: enrolled, exited (with the reason) and goal reached."""
    event_type = SCENARIO_EVENTS.get(kind)
    if event_type is not None:
        emit(session, event_type, lambda: _scenario_payload(session, kind, enrolment, reason))


def _scenario_payload(session: Session, kind: str, enrolment: Enrolment, reason: str | None) -> dict:
    scenario = session.get(Scenario, enrolment.scenario_id)
    payload = {
        "scenario": {"id": enrolment.scenario_id, "name": scenario.name if scenario else None},
        "enrolment": {
            "id": enrolment.id,
            "held_out": enrolment.held_out,
            "trigger_key": enrolment.trigger_key,
            "enrolled_at": enrolment.enrolled_at,
        },
        "friend": friend_refs(session, [enrolment.friend_id])[0],
    }
    if kind == ScenarioEvent.EXITED:
        payload.update(reason=reason, exited_at=enrolment.finished_at)
    elif kind == ScenarioEvent.GOAL_REACHED:
        payload["goal_reached_at"] = enrolment.goal_reached_at
    return payload


def broadcast_finished(session: Session, *, broadcast_id: int, status: str) -> None:
    """delivery_schedule.on_broadcast_finished listener: a send ended (sent, or missed its time)."""
    emit(session, "broadcast.finished", lambda: _broadcast_payload(session, broadcast_id, status))


def _broadcast_payload(session: Session, broadcast_id: int, status: str) -> dict:
    broadcast = session.get(Broadcast, broadcast_id)
    return {
        "broadcast": {
            "id": broadcast_id,
            "name": broadcast.name if broadcast else None,
            "status": status,
            "finished_at": broadcast.finished_at if broadcast else None,
        }
    }


def emit_link_clicks(session: Session, *, now: datetime, limit: int = 1000) -> int:
    """Turn clicks stored since the last call into link.clicked events (worker; the redirect does no extra
    work). With no subscriber the cursor just moves to the newest click. Returns events written."""
    cursor = session.get(WebhookCursor, CLICK_CURSOR, with_for_update=True)
    if cursor is None or not wanted(session, "link.clicked"):
        newest = session.exec(select(func.max(LinkClick.id))).one() or 0
        session.merge(WebhookCursor(name=CLICK_CURSOR, last_id=newest))
        return 0
    read = session.exec(
        select(LinkClick, TrackedLink.destination, Friend.line_user_id)
        .join(TrackedLink, TrackedLink.id == LinkClick.link_id)
        .join(Friend, Friend.id == LinkClick.friend_id)
        .where(LinkClick.id > cursor.last_id)
        .order_by(LinkClick.id)
        .limit(limit)
    ).all()
    rows = settled(read, now=now, clicked_at=lambda row: row[0].clicked_at)
    for click, destination, line_user_id in rows:
        emit(
            session,
            "link.clicked",
            {
                "link": {"id": click.link_id, "destination": destination},
                "broadcast_id": click.broadcast_id,
                "friend": {"id": click.friend_id, "line_user_id": line_user_id},
                "clicked_at": click.clicked_at,
            },
        )
    if rows:
        cursor.last_id = rows[-1][0].id
        session.add(cursor)
    return len(rows)


def register() -> None:
    """Connect the listeners of other services (idempotent)."""
    tags.on_tags_changed(on_tags_changed)
    delivery_schedule.on_broadcast_finished(broadcast_finished)
    privacy.on_erase(forget_erased_friend)
    scenario_events.on_scenario_event(scenario_event)


def forget_erased_friend(session: Session, *, friend_id: int, line_user_id: str) -> int:
    """Erasure: remove the friend from stored outbound deliveries and queued relay bodies."""
    return outbox_delivery.forget_friend(session, line_user_id=line_user_id) + relay.forget_user(
        session, line_user_id=line_user_id
    )
