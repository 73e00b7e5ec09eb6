"""Broadcasts (一斉配信 / 予約配信): drafts, approval, statistics, the composer, the API and delivery."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the broadcast pages, the broadcasts API, the friend page's broadcasts section and delivery."""
    from crm import api
    from crm.broadcasts import api as broadcasts_api
    from crm.broadcasts import dashboard, send_views, views
    from crm.broadcasts.delivery import jobs
    from crm.broadcasts.models import Broadcast
    from crm.console.dashboard import register_home_card
    from crm.friends.extras import register_page_section
    from crm.jobs import register_jobs
    from crm.staff.audit_words import named_rows, register_target
    from crm.tracking.friend_clicks import register_context_names

    app.register_blueprint(views.bp)
    app.register_blueprint(send_views.bp)
    api.register(app, broadcasts_api.blp)
    register_page_section(app, "broadcasts/_friend_broadcasts.html", views.friend_page_helpers)
    register_jobs(app, jobs.JOBS)
    register_target(
        app, "broadcast", named_rows(Broadcast, Broadcast.name, endpoint="broadcasts.show", id_arg="broadcast_id")
    )
    register_context_names(app, "broadcast", views.broadcast_names)
    register_home_card(app, "broadcasts/_home_card.html", dashboard.load, permission="reports.view")
