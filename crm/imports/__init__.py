"""Imports: CSV files of tags, fields and notes, and LINE's followers ids."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the CSV import and followers import pages and the followers import job."""
    from crm.imports import followers_views, jobs, views
    from crm.jobs import register_jobs

    app.register_blueprint(views.bp)
    app.register_blueprint(followers_views.bp)
    register_jobs(app, jobs.JOBS)
