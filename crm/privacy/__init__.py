"""Personal data: the full export, one friend's data on request, and erasure."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the export, friend data and erasure pages."""
    from crm.privacy import views

    app.register_blueprint(views.bp)
