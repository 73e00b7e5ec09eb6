"""Custom fields (友だち情報): definitions, typed values and the admin pages."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the field definition pages."""
    from crm.fields import views

    app.register_blueprint(views.bp)
