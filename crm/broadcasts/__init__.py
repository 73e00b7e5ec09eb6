"""Broadcasts (一斉配信 / 予約配信): drafts, approval, statistics, the composer, the API and delivery."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the broadcast pages, the broadcasts API, the friend page's broadcasts section and delivery."""
    from crm import api
    from crm.broadcasts import api as broadcasts_api
    from crm.broadcasts import send_views, views
    from crm.broadcasts.delivery import jobs
    from crm.friends.extras import register_page_section
    from crm.jobs import register_jobs

    app.register_blueprint(views.bp)
    app.register_blueprint(send_views.bp)
    api.register(app, broadcasts_api.blp)
    register_page_section(app, "broadcasts/_friend_broadcasts.html", views.friend_page_helpers)
    register_jobs(app, jobs.JOBS)
