"""Conversions (コンバージョン): points, conversions from links (/cv.js), the API and purchase CSVs, their
actions and figures, and RFM scores and deciles of purchases."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the API, the conversion script and its endpoint (no CSRF: CORS, a signed click id), the console,
    the friend-page section and API detail, the segment conditions, the RFM job, erasure, the tracking hook
    that makes links to a shop carry a click id, and the words the audit log and action history use."""
    from crm import api
    from crm.actions.history import register_source
    from crm.console.sections import register_section
    from crm.conversions import api as conversions_api
    from crm.conversions import collect, conditions, friend_section, jobs, points, rfm_views, views, words
    from crm.conversions.models import ConversionPoint
    from crm.extensions import csrf
    from crm.friends.extras import register_detail, register_page_section
    from crm.jobs import register_jobs
    from crm.staff.audit_words import named_rows, register_target
    from crm.tracking.links import on_new_link

    api.register(app, conversions_api.blp)
    app.register_blueprint(collect.bp)
    csrf.exempt(collect.bp)
    on_new_link(points.mark_new_link)
    register_source("conversion", words.point_source)
    conditions.register()
    register_jobs(app, jobs.JOBS)
    app.register_blueprint(views.bp)
    app.register_blueprint(rfm_views.bp)
    register_page_section(app, "conversions/_friend_conversions.html", friend_section.page_helpers)
    register_detail(app, "conversions", friend_section.friend_detail)
    for page in ("broadcast_stats", "scenario_stats"):
        register_section(app, page, "conversions/_stats_conversions.html", friend_section.stats_helpers)
    register_target(
        app,
        "conversion_point",
        named_rows(ConversionPoint, ConversionPoint.name, endpoint="conversions.edit", id_arg="point_id"),
    )
