"""A/B variants of a broadcast: their labels and default weights, reading them, and the split of the sent group.

The split is random but reproducible: a friend's variant is drawn from a hash of the broadcast's id and the
friend's id, so a snapshot batch written again after a killed worker draws every friend into the same variant,
and the proportions follow the weights (each variant's weight is a percent of the sent group)."""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

from sqlmodel import Session, select

from crm.broadcasts.models import BroadcastVariant

LABELS = ("A", "B", "C", "D")
MIN_VARIANTS, MAX_VARIANTS = 2, len(LABELS)
WEIGHT_TOTAL = 100
_HASH_RANGE = 2**64


@dataclass(frozen=True)
class Variant:
    """A variant as the composer, the API and the statistics see it."""

    label: str
    weight: int
    messages: list[dict]
    id: int | None = None


def equal_weights(count: int) -> list[int]:
    """An equal split of 100 percent (the first variants take the remainder: 34, 33, 33)."""
    share, extra = divmod(WEIGHT_TOTAL, count)
    return [share + (1 if index < extra else 0) for index in range(count)]


def rows(session: Session, broadcast_id: int) -> list[BroadcastVariant]:
    """The broadcast's variant rows by label (empty: no A/B test)."""
    query = select(BroadcastVariant).where(BroadcastVariant.broadcast_id == broadcast_id)
    return list(session.exec(query.order_by(BroadcastVariant.label)))


def of_broadcast(session: Session, broadcast_id: int) -> list[Variant]:
    """The broadcast's variants with their messages, by label (empty: no A/B test)."""
    return of_broadcasts(session, [broadcast_id]).get(broadcast_id, [])


def of_broadcasts(session: Session, broadcast_ids: list[int]) -> dict[int, list[Variant]]:
    """The variants of several broadcasts at once (one query for a page): {broadcast id: variants by label}."""
    found: dict[int, list[Variant]] = {}
    if broadcast_ids:
        query = select(BroadcastVariant).where(BroadcastVariant.broadcast_id.in_(broadcast_ids))
        for row in session.exec(query.order_by(BroadcastVariant.broadcast_id, BroadcastVariant.label)):
            found.setdefault(row.broadcast_id, []).append(
                Variant(row.label, row.weight, json.loads(row.messages), row.id)
            )
    return found


def tested(session: Session, broadcast_ids: list[int]) -> set[int]:
    """Which of these broadcasts are A/B tests (one query for a list page)."""
    if not broadcast_ids:
        return set()
    query = select(BroadcastVariant.broadcast_id).where(BroadcastVariant.broadcast_id.in_(broadcast_ids))
    return set(session.exec(query.distinct()))


def _point(seed: int, friend_id: int, total: int) -> float:
    """A number in [0, total) drawn from the hash of (seed, friend id): same seed and friend, same number."""
    digest = hashlib.blake2b(f"{seed}:{friend_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") * total / _HASH_RANGE


def split(seed: int, friend_ids: list[int], variants: list[BroadcastVariant]) -> dict[int, int]:
    """{friend id: variant id} for the friends to be sent, drawn by weight."""
    weights = [max(variant.weight, 0) for variant in variants]
    bounds = list(accumulate(weights))
    total = bounds[-1]
    last = len(variants) - 1
    return {
        friend_id: variants[min(bisect_right(bounds, _point(seed, friend_id, total)), last)].id
        for friend_id in friend_ids
    }
