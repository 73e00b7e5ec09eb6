"""/api/v1/broadcasts: create a draft, schedule (or send now), cancel, status and statistics — through the
broadcast lifecycle service, with the console's approval threshold. Its refusals reach the API's domain error
handler: 422 with the field for a refused value, 409 for a refused status change."""

from __future__ import annotations

import json

from flask import current_app
from flask_smorest import Blueprint
from sqlmodel import select

from crm.api import auth, errors
from crm.api.pages import decode_id_cursor, page
from crm.api.schemas import ErrorSchema, PageArgs, page_of
from crm.api.statistics import comparison, proportion
from crm.broadcasts import drafts as broadcast_drafts
from crm.broadcasts import lifecycle as broadcasts
from crm.broadcasts import stats as broadcast_stats
from crm.broadcasts import variants as broadcast_variants
from crm.broadcasts.api_schemas import (
    BroadcastCreate,
    BroadcastSchema,
    BroadcastVariantStatsSchema,
    ScheduleBody,
    StatsSchema,
)
from crm.broadcasts.models import Broadcast
from crm.db import get_session, unit_of_work
from crm.timeutil import utcnow

blp = Blueprint("api_broadcasts", __name__, url_prefix="/api/v1", description="Broadcasts (一斉配信)")
errors.install(blp)
ID = "<int(max=2147483647):broadcast_id>"


def _loaded(value: str | None):
    return json.loads(value) if value else None


def broadcast_dict(b: Broadcast, variants: list | None = None) -> dict:
    """The broadcast as the API shows it; `variants` (crm.broadcasts.variants.Variant) are read when not given."""
    if variants is None:
        variants = broadcast_variants.of_broadcast(get_session(), b.id)
    return {
        "id": b.id,
        "name": b.name,
        "purpose": b.purpose,
        "status": b.status,
        "messages": _loaded(b.messages) or [],
        "variants": [{"label": v.label, "weight": v.weight, "messages": v.messages} for v in variants],
        "segment_id": b.segment_id,
        "segment_tree": _loaded(b.segment_tree),
        "track_links": b.track_links,
        "control_percent": b.control_percent,
        "cap_count": b.cap_count,
        "cap_days": b.cap_days,
        "goal": _loaded(b.goal),
        "scheduled_at": b.scheduled_at,
        "estimated_recipients": b.estimated_recipients,
        "approved_recipients": b.approved_recipients,
        "recounted_recipients": b.recounted_recipients,
        "pause_reason": b.pause_reason,
        "created_at": b.created_at,
        "updated_at": b.updated_at,
        "started_at": b.started_at,
        "finished_at": b.finished_at,
    }


def _broadcast(broadcast_id: int) -> Broadcast:
    found = get_session().get(Broadcast, broadcast_id)
    if found is None:
        raise errors.not_found("broadcast", broadcast_id)
    return found


@blp.route("/broadcasts", methods=["POST"])
@auth.guard(blp, "broadcasts.send")
@blp.arguments(BroadcastCreate)
@blp.response(201, BroadcastSchema)
def create(body: dict):
    """Create a draft broadcast (messages or 2-4 A/B variants, audience, options are checked by the service)."""
    with unit_of_work() as work:
        broadcast = broadcast_drafts.create_draft(work.session, actor=auth.actor(), **body)
    return broadcast_dict(broadcast)


def _change(broadcast_id: int, change) -> dict:
    _broadcast(broadcast_id)
    with unit_of_work() as work:
        broadcast = change(work.session)
    return broadcast_dict(broadcast)


@blp.route(f"/broadcasts/{ID}/schedule", methods=["POST"])
@auth.guard(blp, "broadcasts.send")
@blp.arguments(ScheduleBody)
@blp.response(200, BroadcastSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Not a draft")
def schedule(body: dict, broadcast_id: int):
    """Send a draft now (at null or left out) or at a future time. Above the approval threshold it waits for a
    marketer or admin to approve it in the console (status awaiting_approval)."""
    threshold = current_app.config["BROADCAST_APPROVAL_THRESHOLD"]
    return _change(
        broadcast_id,
        lambda db: broadcasts.schedule(
            db,
            actor=auth.actor(),
            broadcast_id=broadcast_id,
            at=body.get("at"),
            approval_threshold=threshold,
            now=utcnow(),
        ),
    )


@blp.route(f"/broadcasts/{ID}/cancel", methods=["POST"])
@auth.guard(blp, "broadcasts.send")
@blp.response(200, BroadcastSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Sending has started")
def cancel(broadcast_id: int):
    """Cancel a broadcast before sending starts."""
    return _change(
        broadcast_id, lambda db: broadcasts.cancel(db, actor=auth.actor(), broadcast_id=broadcast_id, now=utcnow())
    )


@blp.route("/broadcasts")
@auth.guard(blp, "reports.view")
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, page_of(BroadcastSchema))
def list_broadcasts(limit: int, cursor: str | None = None):
    """Broadcasts, newest first, with their status."""
    query = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit + 1)
    before = decode_id_cursor(cursor)
    if before is not None:
        query = query.where(Broadcast.id < before)
    rows, next_cursor = page(list(get_session().exec(query).all()), limit=limit)
    variants = broadcast_variants.of_broadcasts(get_session(), [b.id for b in rows])
    return {"data": [broadcast_dict(b, variants.get(b.id, [])) for b in rows], "next_cursor": next_cursor}


@blp.route(f"/broadcasts/{ID}")
@auth.guard(blp, "reports.view")
@blp.response(200, BroadcastSchema)
@blp.alt_response(404, schema=ErrorSchema)
def get_one(broadcast_id: int):
    """A broadcast with its status."""
    return broadcast_dict(_broadcast(broadcast_id))


@blp.route(f"/broadcasts/{ID}/statistics")
@auth.guard(blp, "reports.view")
@blp.response(200, StatsSchema)
@blp.alt_response(404, schema=ErrorSchema)
def statistics(broadcast_id: int):
    """Recipients by state, failures, clicks, blocks within 7 days and the goal against the control group; for
    an A/B broadcast the same per variant, with each variant's goal rate against control and against A."""
    _broadcast(broadcast_id)
    stats = broadcast_stats.statistics(get_session(), broadcast_id, now=utcnow())
    goal = stats.goal
    return {
        **{name: getattr(stats, name) for name in StatsSchema.PLAIN},
        "click_rate": stats.click_rate,
        "block_rate": stats.block_rate,
        "failures": [{"reason": reason, "friends": n} for reason, n in stats.failures],
        "goal": None
        if goal is None
        else {
            **{n: getattr(goal, n) for n in StatsSchema.GOAL_FIELDS},
            "sent_rate": goal.sent_rate,
            "control_rate": goal.control_rate,
            "lift": goal.lift,
        },
        "variants": [
            {
                **{name: getattr(v, name) for name in BroadcastVariantStatsSchema.PLAIN},
                "click_rate": v.click_rate,
                "goal": proportion(v.goal),
                "against_control": comparison(v.against_control),
                "against_a": comparison(v.against_a),
            }
            for v in stats.variants
        ],
    }
