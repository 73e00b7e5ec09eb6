"""Schemas of the conversion endpoints (the service checks the values; these check the JSON shapes)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from crm.api.schemas import Id, PageArgs, Text, When
from crm.conversions.models import MAX_VALUE_YEN, ORDER_ID_MAX_CHARS
from crm.conversions.recording import Outcome


class ConversionCreate(ma.Schema):
    point_id = Id(required=True, metadata={"description": "The conversion point"})
    friend_id = Id(load_default=None, metadata={"description": "The friend; or give line_user_id or click_id"})
    line_user_id = Text(
        load_default=None, validate=validate.Length(max=64), metadata={"description": "The friend's LINE user id"}
    )
    click_id = Text(
        load_default=None,
        validate=validate.Length(max=64),
        metadata={"description": "The signed click id a conversion-tracking link brought to the shop (crm_click)"},
    )
    value = fields.Integer(
        strict=True,
        load_default=None,
        validate=validate.Range(0, MAX_VALUE_YEN),
        metadata={"description": "The amount in yen (required on a point with a yen value)"},
    )
    order_id = Text(
        load_default=None,
        validate=validate.Length(max=ORDER_ID_MAX_CHARS),
        metadata={"description": "The shop's order id: the same order id on the same point is recorded once"},
    )
    occurred_at = When(load_default=None, metadata={"description": "When it happened (default: now)"})


class ConversionSchema(ma.Schema):
    id = fields.Integer(required=True)
    point_id = fields.Integer(required=True)
    friend_id = fields.Integer(required=True)
    value = fields.Integer(allow_none=True, metadata={"description": "Yen (none on a point without a value)"})
    order_id = fields.String(allow_none=True)
    occurred_at = fields.DateTime(required=True)
    source = fields.String(required=True, metadata={"description": "link, api or import"})
    link_id = fields.Integer(allow_none=True, metadata={"description": "The tracked link clicked before, if known"})
    broadcast_id = fields.Integer(allow_none=True, metadata={"description": "That link's broadcast, if any"})


class ConversionRecorded(ConversionSchema):
    status = fields.String(
        required=True,
        validate=validate.OneOf([str(outcome) for outcome in Outcome]),
        metadata={
            "description": "created; duplicate_order (this order id was recorded before: that conversion is "
            "answered); already_converted (a first-only point the friend had converted on)"
        },
    )


class ConversionListArgs(PageArgs):
    friend_id = Id(strict=False, metadata={"description": "Only this friend's conversions"})
    point_id = Id(strict=False, metadata={"description": "Only this point's conversions"})
