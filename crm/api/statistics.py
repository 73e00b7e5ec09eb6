"""Rates in API answers: a proportion and a comparison of two groups (crm.statistics) as schemas and dicts,
shared by the broadcast and scenario statistics endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from crm.statistics import Comparison, Proportion

RATE = {"description": "Percent; null when the group is empty"}


class ProportionSchema(ma.Schema):
    reached = fields.Integer(required=True)
    group = fields.Integer(required=True)
    rate = fields.Float(required=True, allow_none=True, metadata=RATE)
    interval = fields.List(
        fields.Float(), required=True, allow_none=True, metadata={"description": "Interval (95%), percent"}
    )


class ComparisonSchema(ma.Schema):
    treated = fields.Nested(ProportionSchema, required=True)
    control = fields.Nested(ProportionSchema, required=True)
    difference = fields.Float(required=True, allow_none=True, metadata={"description": "Percentage points"})
    interval = fields.List(
        fields.Float(), required=True, allow_none=True, metadata={"description": "Interval (95%), percentage points"}
    )
    friends = fields.Integer(required=True, metadata={"description": "How many friends the comparison rests on"})
    enough = fields.Boolean(required=True, metadata={"description": "Both groups are big enough to read"})


def proportion(found: Proportion | None) -> dict | None:
    if found is None:
        return None
    return {"reached": found.reached, "group": found.group, "rate": found.percent, "interval": found.interval}


def comparison(found: Comparison | None) -> dict | None:
    if found is None:
        return None
    return {
        "treated": proportion(found.treated),
        "control": proportion(found.control),
        "difference": found.difference,
        "interval": found.interval,
        "friends": found.friends,
        "enough": found.enough,
    }
