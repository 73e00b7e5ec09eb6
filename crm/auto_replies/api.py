"""/api/v1/auto-replies: the rules in priority order (keyword rules, then the fallbacks) with their hits."""

from __future__ import annotations

import json

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from crm.api import auth, errors
from crm.auto_replies.rules import list_rules
from crm.auto_replies.stats import Hits, hits_by_rule
from crm.auto_replies.switch import automatic_answers_stopped
from crm.db import get_session
from crm.timeutil import utcnow

blp = Blueprint("api_auto_replies", __name__, url_prefix="/api/v1", description="Auto-replies (自動応答)")
errors.install(blp)


class HitsSchema(Schema):
    today = fields.Integer(required=True, metadata={"description": "Answers since midnight, Japan time"})
    last_7_days = fields.Integer(required=True)
    total = fields.Integer(required=True)
    last_at = fields.DateTime(allow_none=True, required=True)


class AutoReplySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    folder = fields.String(allow_none=True, required=True)
    kind = fields.String(required=True, metadata={"description": "keyword, any_other or outside_hours"})
    keywords = fields.List(fields.String(), required=True)
    match_mode = fields.String(required=True, metadata={"description": "exact, contains, starts_with or regex"})
    enabled = fields.Boolean(required=True)
    template_id = fields.Integer(allow_none=True, required=True)
    hits = fields.Nested(HitsSchema, required=True)


class AutoReplyList(Schema):
    stopped = fields.Boolean(required=True, metadata={"description": "The emergency stop of automatic answers"})
    data = fields.List(fields.Nested(AutoReplySchema), required=True)


@blp.route("/auto-replies")
@auth.guard(blp, "auto_replies.manage")
@blp.response(200, AutoReplyList)
def list_auto_replies():
    """Every rule in the order they are tried, with its hits."""
    db = get_session()
    hits = hits_by_rule(db, now=utcnow())
    data = []
    for rule in list_rules(db):
        counted = hits.get(rule.id, Hits())
        data.append(
            {
                "id": rule.id,
                "name": rule.name,
                "folder": rule.folder,
                "kind": rule.kind,
                "keywords": json.loads(rule.keywords),
                "match_mode": rule.match_mode,
                "enabled": rule.enabled,
                "template_id": rule.template_id,
                "hits": {
                    "today": counted.today,
                    "last_7_days": counted.week,
                    "total": counted.total,
                    "last_at": counted.last_at,
                },
            }
        )
    return {"stopped": automatic_answers_stopped(db), "data": data}
