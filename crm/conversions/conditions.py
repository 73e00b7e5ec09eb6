"""Segment conditions on conversions and RFM, registered with crm.segments:

- `{"type": "converted", "point_id": 1, "days": 30}`: converted on the point within the last N days (0: ever);
- `{"type": "conversion_value", "min": 10000}`: total value of every conversion at least N yen;
- `{"type": "rfm", "r": [4, 5], "f": [1, 5], "m": [1, 5]}`: RFM scores in those ranges (each key optional);
- `{"type": "decile", "value": 1}`: in that value decile (1 = the top 10 % by purchases).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from crm.conversions.models import MAX_VALUE_YEN, Conversion, ConversionPoint, RfmScore
from crm.conversions.points import list_points
from crm.errors import N_
from crm.segments.registry import BuilderInputs, ConditionKind, register_condition
from crm.segments.tree import MAX_DAYS, SegmentError, at

SCORES = {"r": RfmScore.recency_score, "f": RfmScore.frequency_score, "m": RfmScore.monetary_score}


def _number(node: dict, path: str, key: str, low: int, high: int) -> int:
    value = node.get(key)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SegmentError(at(path, key), N_("Enter a number from %(low)d to %(high)d."), low=low, high=high)
    return value


def _check_converted(session: Session, node: dict, path: str) -> dict:
    point_id = _number(node, path, "point_id", 1, 2**31 - 1)
    if session.get(ConversionPoint, point_id) is None:
        raise SegmentError(at(path, "point_id"), N_("Conversion point %(id)s does not exist."), id=point_id)
    return {"point_id": point_id, "days": _number(node, path, "days", 0, MAX_DAYS)}


def _converted(node: dict, now: datetime):
    query = select(Conversion.friend_id).where(Conversion.point_id == node["point_id"])
    if node["days"]:
        query = query.where(Conversion.occurred_at >= now - timedelta(days=node["days"]))
    return query


def _check_value(_session: Session, node: dict, path: str) -> dict:
    return {"min": _number(node, path, "min", 0, MAX_VALUE_YEN * 1000)}


def _value_at_least(node: dict, _now: datetime):
    return (
        select(Conversion.friend_id)
        .group_by(Conversion.friend_id)
        .having(func.coalesce(func.sum(Conversion.value), 0) >= node["min"])
    )


def _check_rfm(_session: Session, node: dict, path: str) -> dict:
    ranges = {}
    for key in SCORES:
        if node.get(key) is None:
            continue
        pair = node[key]
        if not isinstance(pair, list) or len(pair) != 2:
            raise SegmentError(at(path, key), N_("Give a range of scores such as [4, 5]."))
        low = _number({"v": pair[0]}, at(path, key), "v", 1, 5)
        high = _number({"v": pair[1]}, at(path, key), "v", low, 5)
        ranges[key] = [low, high]
    if not ranges:
        raise SegmentError(path, N_("Give a range of scores such as [4, 5]."))
    return ranges


def _rfm(node: dict, _now: datetime):
    tests = [SCORES[key].between(*node[key]) for key in SCORES if key in node]
    return select(RfmScore.friend_id).where(*tests)


def _check_decile(_session: Session, node: dict, path: str) -> dict:
    return {"value": _number(node, path, "value", 1, 10)}


def _decile(node: dict, _now: datetime):
    return select(RfmScore.friend_id).where(RfmScore.decile == node["value"])


def _points(session: Session) -> list[dict]:
    return [{"id": point.id, "name": point.name} for point in list_points(session)]


CONVERTED = BuilderInputs(
    N_("Converted on"),
    "choice_days",
    ("point_id", "days"),
    {"point_id": "", "days": 30},
    words={"days": N_("days or less ago (0: at any time)")},
    options=_points,
)
VALUE = BuilderInputs(
    N_("Total conversion value"), "amount", ("min",), {"min": 10000}, words={"min": N_("yen or more")}
)
RFM = BuilderInputs(
    N_("RFM scores"),
    "ranges",
    tuple(SCORES),
    {key: [1, 5] for key in SCORES},
    words={"r": N_("R (last purchase)"), "f": N_("F (purchases)"), "m": N_("M (amount)")},
    low=1,
    high=5,
)
DECILE = BuilderInputs(
    N_("Value decile"), "number", ("value",), {"value": 1}, words={"value": N_("(1: the top tenth)")}, low=1, high=10
)


def register() -> None:
    """Add the four conditions to the segment builder's registry, with the inputs the builder draws for them."""
    register_condition(ConditionKind("converted", _check_converted, _converted, CONVERTED))
    register_condition(ConditionKind("conversion_value", _check_value, _value_at_least, VALUE))
    register_condition(ConditionKind("rfm", _check_rfm, _rfm, RFM))
    register_condition(ConditionKind("decile", _check_decile, _decile, DECILE))
