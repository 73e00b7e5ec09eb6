"""Schemas of the scenario endpoints (the services check the values; these check the JSON shapes)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from crm.api.schemas import Id, Text
from crm.api.statistics import ComparisonSchema


class CountsSchema(ma.Schema):
    active = fields.Integer(required=True)
    completed = fields.Integer(required=True)
    exited = fields.Integer(required=True)


class ScenarioSummarySchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, metadata={"description": "draft, active, paused or archived"})
    trigger_kind = fields.String(
        required=True, metadata={"description": "friend_added, tag_added, survey_answered, link_clicked or manual"}
    )
    trigger_ref_id = fields.Integer(required=True, allow_none=True)
    enrolment_rule = fields.String(required=True, metadata={"description": "once, after_completion or restart"})
    priority = fields.Integer(required=True)
    exclusive = fields.Boolean(required=True)
    control_percent = fields.Integer(required=True)
    goal_days = fields.Integer(required=True)
    counts = fields.Nested(CountsSchema, required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class FiguresSchema(ma.Schema):
    reached = fields.Integer(required=True)
    queued = fields.Integer(required=True)
    sent = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    held_out = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    clicks = fields.Integer(required=True)
    unique_clickers = fields.Integer(required=True)
    blocks_7d = fields.Integer(required=True)


class VariantSchema(FiguresSchema):
    id = fields.Integer(required=True)
    label = fields.String(required=True)
    weight = fields.Integer(required=True)
    template_id = fields.Integer(required=True, allow_none=True)
    goal = fields.Nested(
        ComparisonSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The goal of this variant's friends against the control group (A/B steps only)"},
    )


class StepSchema(FiguresSchema):
    id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    name = fields.String(required=True, allow_none=True)
    timing_kind = fields.String(required=True, metadata={"description": "elapsed, day_at or field_relative"})
    elapsed_from = fields.String(required=True)
    delay_minutes = fields.Integer(required=True)
    day_offset = fields.Integer(required=True)
    at_minute = fields.Integer(required=True, allow_none=True)
    field_id = fields.Integer(required=True, allow_none=True)
    condition_tree = fields.Dict(required=True, allow_none=True)
    condition_otherwise = fields.String(required=True)
    jump_to_position = fields.Integer(required=True, allow_none=True)
    actions = fields.List(fields.Dict(), required=True)
    variants = fields.List(fields.Nested(VariantSchema), required=True)


class ExitReasonSchema(ma.Schema):
    reason = fields.String(required=True)
    friends = fields.Integer(required=True)


class ScenarioSchema(ScenarioSummarySchema):
    steps = fields.List(fields.Nested(StepSchema), required=True)
    exit_reasons = fields.List(fields.Nested(ExitReasonSchema), required=True)
    goal = fields.Nested(ComparisonSchema, required=True, allow_none=True, metadata={"description": "Sent vs control"})


class EnrolBody(ma.Schema):
    friend_id = Id(metadata={"description": "The friend's id; or give line_user_id"})
    line_user_id = Text(validate=validate.Length(min=1, max=64))

    @ma.validates_schema
    def _one_friend(self, data, **_):
        if ("friend_id" in data) == ("line_user_id" in data):
            raise ma.ValidationError("give friend_id or line_user_id (one of them)")


class EnrolResultSchema(ma.Schema):
    result = fields.String(required=True, metadata={"description": "enrolled or refused"})
    enrolment_id = fields.Integer(required=True, allow_none=True)
    friend_id = fields.Integer(required=True)
    held_out = fields.Boolean(required=True, allow_none=True, metadata={"description": "In the control group"})
    reason = fields.String(required=True, allow_none=True, metadata={"description": "Why it was refused"})
