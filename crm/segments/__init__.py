"""Segments (絞り込み): condition trees compiled to one SQL query, saved segments, builder and API."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the segment builder pages and the segments API."""
    from crm import api
    from crm.segments import api as segments_api
    from crm.segments import views
    from crm.segments.models import Segment
    from crm.staff.audit_words import named_rows, register_target

    app.register_blueprint(views.bp)
    api.register(app, segments_api.blp)
    register_target(app, "segment", named_rows(Segment, Segment.name))
