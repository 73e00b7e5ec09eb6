"""Outbound webhooks and the LINE webhook relay."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the webhook settings pages, the listeners that turn changes into events, and the delivery job."""
    from crm.jobs import register_jobs
    from crm.outbound import events, jobs, views

    events.register()
    app.register_blueprint(views.bp)
    register_jobs(app, jobs.JOBS)
