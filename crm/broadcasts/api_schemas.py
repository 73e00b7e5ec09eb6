"""Schemas of the broadcast endpoints (the service checks the values; these check the JSON shapes)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from crm.api.schemas import Id, Text, When
from crm.api.statistics import ComparisonSchema, ProportionSchema

MESSAGES = {"description": "1-5 LINE message objects: text, image, sticker or flex"}


class BroadcastVariantCreate(ma.Schema):
    weight = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        metadata={"description": "Percent of the sent group (1-99, adding up to 100); none given: an equal split"},
    )
    messages = fields.List(fields.Dict(), required=True, validate=validate.Length(max=20), metadata=MESSAGES)


class BroadcastCreate(ma.Schema):
    name = Text(required=True, validate=validate.Length(max=500))
    purpose = Text(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    messages = fields.List(
        fields.Dict(),
        load_default=None,
        validate=validate.Length(max=20),
        metadata={"description": "1-5 LINE message objects (text, image, sticker or flex); or give variants"},
    )
    variants = fields.List(
        fields.Nested(BroadcastVariantCreate),
        load_default=None,
        validate=validate.Length(max=10),
        metadata={"description": "An A/B test: 2-4 variants (A, B, C, D in order), each its messages and weight"},
    )
    segment_id = Id(allow_none=True, metadata={"description": "A saved segment; or give segment_tree"})
    segment_tree = fields.Dict(allow_none=True, metadata={"description": "A condition tree (docs/segments.md)"})
    track_links = fields.Boolean()
    control_percent = fields.Integer(strict=True, validate=validate.Range(0, 100))
    cap_count = fields.Integer(strict=True, allow_none=True, validate=validate.Range(0, 10000))
    cap_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(0, 10000))
    goal = fields.Dict(allow_none=True, metadata={"description": '{"kind": "tag"|"link", "id": 3, "days": 7}'})


class ScheduleBody(ma.Schema):
    at = When(allow_none=True, metadata={"description": "When to send; null or left out: now"})


class BroadcastVariantSchema(ma.Schema):
    label = fields.String(required=True, metadata={"description": "A, B, C or D"})
    weight = fields.Integer(required=True, metadata={"description": "Percent of the sent group"})
    messages = fields.List(fields.Dict(), required=True)


class BroadcastSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    purpose = fields.String(required=True, allow_none=True)
    status = fields.String(
        required=True,
        metadata={
            "description": "draft, awaiting_approval, scheduled, sending, paused, sent, cancelled, missed or failed"
        },
    )
    messages = fields.List(fields.Dict(), required=True, metadata={"description": "With variants: variant A's"})
    variants = fields.List(
        fields.Nested(BroadcastVariantSchema),
        required=True,
        metadata={"description": "A/B variants; empty: no A/B test"},
    )
    segment_id = fields.Integer(required=True, allow_none=True)
    segment_tree = fields.Dict(required=True, allow_none=True)
    track_links = fields.Boolean(required=True)
    control_percent = fields.Integer(required=True)
    cap_count = fields.Integer(required=True, allow_none=True)
    cap_days = fields.Integer(required=True, allow_none=True)
    goal = fields.Dict(required=True, allow_none=True)
    scheduled_at = fields.DateTime(required=True, allow_none=True)
    estimated_recipients = fields.Integer(required=True, allow_none=True)
    approved_recipients = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "The recipients approved (or under the approval threshold when scheduled)"},
    )
    recounted_recipients = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "The recipients counted when the send was due that sent it back to awaiting_approval"},
    )
    pause_reason = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    started_at = fields.DateTime(required=True, allow_none=True)
    finished_at = fields.DateTime(required=True, allow_none=True)


class FailureSchema(ma.Schema):
    reason = fields.String(required=True)
    friends = fields.Integer(required=True)


class GoalStatsSchema(ma.Schema):
    kind = fields.String(required=True)
    target_id = fields.Integer(required=True)
    days = fields.Integer(required=True)
    sent_group = fields.Integer(required=True)
    sent_reached = fields.Integer(required=True)
    control_group = fields.Integer(required=True)
    control_reached = fields.Integer(required=True)
    sent_rate = fields.Float(required=True, allow_none=True)
    control_rate = fields.Float(required=True, allow_none=True)
    lift = fields.Float(required=True, allow_none=True, metadata={"description": "Percentage points"})


class BroadcastVariantStatsSchema(ma.Schema):
    PLAIN = ("label", "weight", "recipients", "queued", "sent", "failed", "clicks", "unique_clickers", "blocks_7d")

    label = fields.String(required=True)
    weight = fields.Integer(required=True)
    recipients = fields.Integer(required=True, metadata={"description": "Friends drawn into this variant"})
    queued = fields.Integer(required=True)
    sent = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    clicks = fields.Integer(required=True)
    unique_clickers = fields.Integer(required=True)
    blocks_7d = fields.Integer(required=True)
    click_rate = fields.Float(required=True, allow_none=True, metadata={"description": "Percent of sent"})
    goal = fields.Nested(
        ProportionSchema, required=True, allow_none=True, metadata={"description": "Its sent friends who reached it"}
    )
    against_control = fields.Nested(ComparisonSchema, required=True, allow_none=True)
    against_a = fields.Nested(
        ComparisonSchema, required=True, allow_none=True, metadata={"description": "This variant against variant A"}
    )


class StatsSchema(ma.Schema):
    PLAIN = (
        "broadcast_id",
        "status",
        "recipients",
        "held_out",
        "capped",
        "queued",
        "sent",
        "failed",
        "clicks",
        "unique_clickers",
        "blocks_7d",
    )
    GOAL_FIELDS = ("kind", "target_id", "days", "sent_group", "sent_reached", "control_group", "control_reached")

    broadcast_id = fields.Integer(required=True)
    status = fields.String(required=True)
    recipients = fields.Integer(required=True)
    held_out = fields.Integer(required=True)
    capped = fields.Integer(required=True)
    queued = fields.Integer(required=True)
    sent = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    failures = fields.List(fields.Nested(FailureSchema), required=True)
    clicks = fields.Integer(required=True)
    unique_clickers = fields.Integer(required=True)
    blocks_7d = fields.Integer(required=True)
    click_rate = fields.Float(required=True, allow_none=True, metadata={"description": "Percent of sent"})
    block_rate = fields.Float(required=True, allow_none=True)
    goal = fields.Nested(GoalStatsSchema, required=True, allow_none=True)
    variants = fields.List(
        fields.Nested(BroadcastVariantStatsSchema),
        required=True,
        metadata={"description": "Per A/B variant; empty: none"},
    )
