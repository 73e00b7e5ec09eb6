"""Staff accounts, sign-in checks, the audit log and API tokens."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the staff admin, audit log and API token pages."""
    from crm.staff import api_token_views, audit_views, views

    app.register_blueprint(audit_views.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(api_token_views.bp)
