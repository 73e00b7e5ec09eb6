"""Staff accounts, sign-in checks, the audit log and API tokens."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the staff admin, audit log and API token pages."""
    from crm.staff import api_token_views, audit_views, views
    from crm.staff.audit_words import named_rows, register_target
    from crm.staff.models import Staff

    app.register_blueprint(audit_views.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(api_token_views.bp)
    register_target(app, "staff", named_rows(Staff, Staff.display_name, endpoint="staff_admin.edit", id_arg="staff_id"))
