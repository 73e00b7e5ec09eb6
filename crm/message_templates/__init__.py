"""Message templates (テンプレート): saved content of up to 5 LINE messages, uploaded images, per-friend rendering."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Serve uploaded images publicly under /media/; the console's template pages."""
    from crm.message_templates import media_views, views

    app.register_blueprint(media_views.bp)
    app.register_blueprint(views.bp)
