"""/api/v1/segments: count the friends a condition tree selects, and the saved segments (segments service)."""

from __future__ import annotations

import json

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields

from crm.api import auth, errors
from crm.db import get_session
from crm.segments import service as segments
from crm.segments import tree as segment_tree
from crm.segments.tree import PersonalFieldError, SegmentError
from crm.timeutil import utcnow

blp = Blueprint("api_segments", __name__, url_prefix="/api/v1", description="Segments (絞り込み)")
errors.install(blp)
TREE_DOC = 'A condition tree, see docs/segments.md; {"type": "all", "conditions": []} is every friend'


class CountBody(ma.Schema):
    tree = fields.Dict(required=True, metadata={"description": TREE_DOC})


class CountSchema(ma.Schema):
    count = fields.Integer(required=True, metadata={"description": "Following friends selected (recipients)"})
    all = fields.Integer(required=True, metadata={"description": "Friends selected, blocked ones included"})
    tree = fields.Dict(required=True, metadata={"description": "The tree as normalised by the service"})


class SegmentSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True, allow_none=True)
    tree = fields.Dict(required=True)
    count = fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "Following friends it selects now; null when it uses a personal field the role "
            "may not count on"
        },
    )


def segment_error(error: SegmentError) -> errors.ApiError:
    """A tree the service refuses: 422 with the path in the tree (403 for a personal field the role may not use)."""
    refused = errors.domain_error(error, details={"tree": {error.path or "(root)": [str(error)]}})
    if isinstance(error, PersonalFieldError):
        refused.status = 403
    return refused


@blp.route("/segments/count", methods=["POST"])
@auth.guard(blp, "reports.view")
@blp.arguments(CountBody)
@blp.response(200, CountSchema)
def count(body: dict):
    """Count the friends a condition tree selects now, without saving it."""
    db, now = get_session(), utcnow()
    try:
        tree = segment_tree.validate(db, body["tree"], personal_allowed=not auth.masked())
    except SegmentError as error:
        raise segment_error(error) from None
    recipients, everyone = segments.counts(db, tree, now=now)
    return {"count": recipients, "all": everyone, "tree": tree}


@blp.route("/segments")
@auth.guard(blp, "reports.view")
@blp.response(200, SegmentSchema(many=True))
def list_segments():
    """The saved segments by name, each with how many following friends it selects now."""
    db, now, masked = get_session(), utcnow(), auth.masked()
    return [
        {
            "id": s.id,
            "name": s.name,
            "description": s.description,
            "tree": segment_tree.without_personal_values(db, s.tree) if masked else json.loads(s.tree),
            "count": None if masked and _uses_personal_field(db, s.tree) else segments.count(db, s.tree, now=now),
        }
        for s in segments.list_segments(db)
    ]


def _uses_personal_field(db, tree: str) -> bool:
    try:
        segment_tree.refuse_personal_fields(db, tree)
    except PersonalFieldError:
        return True
    return False
