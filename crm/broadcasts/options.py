"""Checking a broadcast draft's fields: name, purpose, audience, content (or A/B variants), control group,
frequency cap and goal."""

from __future__ import annotations

import json

from sqlmodel import Session

from crm.broadcasts.variants import LABELS, MAX_VARIANTS, MIN_VARIANTS, WEIGHT_TOTAL, equal_weights
from crm.errors import N_, TranslatableError
from crm.message_templates import content as broadcast_content
from crm.segments.models import Segment
from crm.segments.tree import SegmentError, validate
from crm.tags.models import Tag
from crm.tracking.models import TrackedLink

NAME_MAX = 100
PURPOSE_MAX = 500
CONTROL_MAX = 50
CAP_COUNT_MAX = 100
CAP_DAYS_MAX = 365
GOAL_DAYS_MAX = 90
GOAL_KINDS = ("tag", "link")


class BroadcastError(TranslatableError):
    """A broadcast change that cannot be done; `field` names the form field it concerns (or None)."""

    def __init__(self, msgid: str, *, field: str | None = None, index: int | None = None, **params):
        super().__init__(msgid, **params)
        self.field, self.index = field, index
        self.message_index: int | None = None  # a variant's refused message (`index` is then the variant's)

    @property
    def code(self) -> str:
        """ "invalid" for a refused value (it names its field), "conflict" for a refused status change."""
        return "invalid" if self.field else "conflict"


def clean_name(name: str | None) -> str:
    """A name of 1 to 100 characters, stripped."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise BroadcastError(N_("Enter a name of 1 to %(max)s characters."), field="name", max=NAME_MAX)
    return name


def clean_purpose(purpose: str | None) -> str | None:
    """The purpose (why this is sent), at most 500 characters; empty becomes None."""
    purpose = (purpose or "").strip()
    if len(purpose) > PURPOSE_MAX:
        raise BroadcastError(N_("The purpose is longer than %(max)s characters."), field="purpose", max=PURPOSE_MAX)
    return purpose or None


def _int_in(value, low: int, high: int, msgid: str, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BroadcastError(msgid, field=field, low=low, high=high)
    return value


def clean_control(percent) -> int:
    """The control group size: a whole percentage from 0 to 50."""
    return _int_in(
        percent if percent is not None else 0,
        0,
        CONTROL_MAX,
        N_("The control group must be a whole percentage from %(low)s to %(high)s."),
        "control_percent",
    )


def clean_cap(count, days) -> tuple[int | None, int | None]:
    """A frequency cap (N broadcasts in D days): both given, or neither."""
    if count is None and days is None:
        return None, None
    if count is None or days is None:
        raise BroadcastError(
            N_("Give both the number of broadcasts and the number of days, or neither."), field="cap_count"
        )
    count = _int_in(count, 1, CAP_COUNT_MAX, N_("The cap must be from %(low)s to %(high)s broadcasts."), "cap_count")
    days = _int_in(days, 1, CAP_DAYS_MAX, N_("The cap period must be from %(low)s to %(high)s days."), "cap_days")
    return count, days


def clean_goal(session: Session, goal) -> str | None:
    """The goal as stored JSON: {"kind": "tag"|"link", "id": existing tag or tracked link, "days": 1-90}."""
    if goal in (None, "", {}):
        return None
    if isinstance(goal, str):
        try:
            goal = json.loads(goal)
        except ValueError:
            raise BroadcastError(N_("The goal is not valid."), field="goal") from None
    if not isinstance(goal, dict) or goal.get("kind") not in GOAL_KINDS:
        raise BroadcastError(N_("Choose a goal: a tag added or a link clicked."), field="goal")
    model = Tag if goal["kind"] == "tag" else TrackedLink
    goal_id = goal.get("id")
    if isinstance(goal_id, bool) or not isinstance(goal_id, int) or session.get(model, goal_id) is None:
        raise BroadcastError(N_("The goal's tag or link does not exist."), field="goal")
    days = _int_in(
        goal.get("days"), 1, GOAL_DAYS_MAX, N_("The goal period must be from %(low)s to %(high)s days."), "goal_days"
    )
    return json.dumps({"kind": goal["kind"], "id": goal_id, "days": days}, sort_keys=True)


def parse_goal(goal: str | None) -> dict | None:
    """The stored goal JSON as a dict (None when there is none)."""
    return json.loads(goal) if goal else None


def goal_target_name(session: Session, goal: dict | None) -> str | None:
    """What the goal is about, as staff know it: the tag's name or the link's address (None: gone or no goal)."""
    if not goal:
        return None
    if goal.get("kind") == "tag":
        tag = session.get(Tag, goal.get("id"))
        return tag.name if tag else None
    link = session.get(TrackedLink, goal.get("id"))
    return link.destination if link else None


def clean_audience(session: Session, segment_id, segment_tree) -> tuple[int | None, str | None]:
    """A saved segment (by id) or a condition tree checked by the segments service; neither = every friend."""
    if segment_id is not None:
        if session.get(Segment, segment_id) is None:
            raise BroadcastError(N_("That segment no longer exists."), field="segment")
        return segment_id, None
    if segment_tree in (None, ""):
        return None, None
    try:
        tree = validate(session, segment_tree)
    except SegmentError as error:
        raise BroadcastError(error.msgid, field="segment", **error.params) from error
    return None, json.dumps(tree, ensure_ascii=False, sort_keys=True)


def clean_messages(messages) -> str:
    """The 1-5 messages checked by the broadcast content service, stored as JSON."""
    try:
        checked = broadcast_content.validate_messages(messages)
    except broadcast_content.ContentError as error:
        raise BroadcastError(error.msgid, field="messages", index=error.index, **error.params) from error
    return json.dumps(checked, ensure_ascii=False)


def clean_variants(variants) -> list[dict]:
    """2-4 A/B variants, labelled A-D in order, each with checked messages and a weight (percent of the sent
    group, 1-99, adding up to 100; none given: an equal split). None or [] = no A/B test."""
    if not variants:
        return []
    if not isinstance(variants, list) or not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
        raise BroadcastError(
            N_("An A/B test has %(low)s to %(high)s variants."), field="variants", low=MIN_VARIANTS, high=MAX_VARIANTS
        )
    if not all(isinstance(variant, dict) for variant in variants):
        raise BroadcastError(N_("Each variant needs its messages and a weight."), field="variants")
    weights = [variant.get("weight") for variant in variants]
    if all(weight is None for weight in weights):
        weights = equal_weights(len(variants))
    for weight in weights:
        _int_in(
            weight,
            1,
            WEIGHT_TOTAL - 1,
            N_("Each variant's share must be a whole percentage from %(low)s to %(high)s."),
            "variants",
        )
    if sum(weights) != WEIGHT_TOTAL:
        raise BroadcastError(
            N_("The variants' shares must add up to 100%% (now %(total)s%%)."), field="variants", total=sum(weights)
        )
    cleaned = []
    for index, (label, weight, variant) in enumerate(zip(LABELS, weights, variants, strict=False)):
        try:
            messages = clean_messages(variant.get("messages"))
        except BroadcastError as error:  # the same error, on the variant (`index`) and its message
            refused = BroadcastError(error.msgid, field="variants", index=index, **error.params)
            refused.message_index = error.index
            raise refused from error
        cleaned.append({"label": label, "weight": weight, "messages": messages})
    return cleaned
