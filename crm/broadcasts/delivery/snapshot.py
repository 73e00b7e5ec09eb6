"""The recipients snapshot: who a broadcast goes to, written in batches when the send starts.

Each batch reads the next friends by id (keyset after `snapshot_cursor`), holds out the control group, skips
capped friends, splits the rest between the A/B variants (if any), writes their broadcast_recipient rows and the
delivery_request rows that will carry them (one variant's friends per request; a fresh uuid4 retry key each,
stored before anything is sent), and moves the cursor in the same transaction: a worker killed between batches
resumes at the next one, with nobody written twice or skipped.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlmodel import Session

from crm.broadcasts import recipients as broadcast_recipients
from crm.broadcasts import variants as broadcast_variants
from crm.broadcasts.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    DeliveryRequest,
    RecipientState,
    RequestKind,
    RequestState,
)
from crm.friends.models import Friend
from crm.message_templates import content as broadcast_content
from crm.segments import service as segments
from crm.sql import first_column, insert_groups
from crm.timeutil import utcnow

MULTICAST_GROUP = 500
RECIPIENT_COLUMNS = ("broadcast_id", "state", "request_id", "variant_id", "friend_id")  # insert_groups: shared first
_random = random.SystemRandom()


@dataclass(frozen=True)
class BatchResult:
    """What one batch wrote."""

    friends: int
    queued: int
    held_out: int
    capped: int
    requests: int
    done: bool


def snapshot_batch(session: Session, *, broadcast_id: int, now: datetime, batch: int = 1000) -> BatchResult | None:
    """Snapshot the next batch of a sending broadcast; None when there is nothing (left) to snapshot."""
    broadcast = session.get(Broadcast, broadcast_id, populate_existing=True)
    if broadcast is None or broadcast.status != BroadcastStatus.SENDING or broadcast.snapshot_done:
        return None
    query = (
        segments.recipient_ids(session, broadcast.segment_tree, now=now)
        .where(Friend.id > broadcast.snapshot_cursor)
        .order_by(Friend.id)
        .limit(batch)
    )
    friend_ids = first_column(session, query)
    held_out = _held_out(broadcast, friend_ids)
    capped = _capped(session, broadcast, [f for f in friend_ids if f not in held_out] if held_out else friend_ids, now)
    left_out = held_out | capped
    queued = [friend_id for friend_id in friend_ids if friend_id not in left_out] if left_out else friend_ids
    variants = broadcast_variants.rows(session, broadcast_id)
    variant_of = broadcast_variants.split(broadcast_id, queued, variants) if variants else {}
    groups, requests = [], 0
    for variant_id, messages in _contents(broadcast, variants):
        members = [friend_id for friend_id in queued if variant_of[friend_id] == variant_id] if variants else queued
        personal = broadcast_content.is_personal(messages, track_links=broadcast.track_links)
        carried = request_groups(members, personal=personal)
        owner = {"broadcast_id": broadcast_id, "broadcast_variant_id": variant_id}
        request_ids = create_requests(session, carried, personal=personal, **owner)
        shared = [(broadcast_id, RecipientState.QUEUED, request_id, variant_id) for request_id in request_ids]
        groups += zip(shared, carried, strict=True)
        requests += len(carried)
    for state, left in ((RecipientState.HELD_OUT, held_out), (RecipientState.CAPPED, capped)):
        if left:
            groups.append(((broadcast_id, state, None, None), sorted(left)))
    if friend_ids:
        insert_groups(session, BroadcastRecipient.__table__, RECIPIENT_COLUMNS, groups)
        broadcast.snapshot_cursor = friend_ids[-1]
    broadcast.snapshot_done = len(friend_ids) < batch
    broadcast.updated_at = now
    return BatchResult(len(friend_ids), len(queued), len(held_out), len(capped), requests, broadcast.snapshot_done)


def _contents(broadcast: Broadcast, variants: list) -> list[tuple[int | None, list[dict]]]:
    """(variant id, messages) of each content: every variant's, or the broadcast's own (variant None)."""
    if not variants:
        return [(None, json.loads(broadcast.messages))]
    return [(variant.id, json.loads(variant.messages)) for variant in variants]


def request_groups(items: list[int], *, personal: bool) -> list[list[int]]:
    """The recipients of each request: one each when the content is personal (push), else up to 500 (multicast)."""
    if personal:
        return [[item] for item in items]
    return [items[start : start + MULTICAST_GROUP] for start in range(0, len(items), MULTICAST_GROUP)]


def _held_out(broadcast: Broadcast, friend_ids: list[int]) -> set[int]:
    """The control group's share of the batch, drawn at random (`control_percent` of the friends)."""
    if not broadcast.control_percent:
        return set()
    return {friend_id for friend_id in friend_ids if _random.random() * 100 < broadcast.control_percent}


def _capped(session: Session, broadcast: Broadcast, friend_ids: list[int], now: datetime) -> set[int]:
    """Friends who already received cap_count broadcasts in the last cap_days days (one grouped query)."""
    if not broadcast.cap_count or not broadcast.cap_days or not friend_ids:
        return set()
    recipient = broadcast_recipients.outcomes()
    query = (
        select(recipient.friend_id)
        .where(
            recipient.friend_id.in_(friend_ids),
            recipient.state == RecipientState.SENT,
            recipient.sent_at >= now - timedelta(days=broadcast.cap_days),
            recipient.broadcast_id != broadcast.id,
        )
        .group_by(recipient.friend_id)
        .having(func.count() >= broadcast.cap_count)
    )
    return set(session.execute(query).scalars())


def create_requests(session: Session, groups: list[list[int]], *, personal: bool, **owner) -> list[int]:
    """Insert one pending request per group (its retry key stored now); return their ids, in the groups' order.

    `owner`: the columns naming what the requests carry (broadcast_id, or scenario_step_id and
    scenario_variant_id); a group's members are friend ids (broadcasts) or scenario_send ids."""
    if not groups:
        return []
    now = utcnow()  # the real clock: senders compare next_attempt_at with it
    kind = RequestKind.PUSH if personal else RequestKind.MULTICAST
    rows = [
        {
            **owner,
            "kind": kind,
            "retry_key": str(uuid.uuid4()),
            "state": RequestState.PENDING,
            "recipients": len(group),
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for group in groups
    ]
    statement = insert(DeliveryRequest).returning(DeliveryRequest.id, sort_by_parameter_order=True)
    return list(session.execute(statement, rows).scalars())
