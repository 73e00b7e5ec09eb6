"""Message templates (テンプレート): saved content of up to 5 LINE messages, uploaded images, per-friend rendering."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Serve uploaded images publicly under /media/; the console's template pages; the send_template action."""
    from crm.actions.registry import register_kind
    from crm.message_templates import action, media_views, views

    app.register_blueprint(media_views.bp)
    app.register_blueprint(views.bp)
    register_kind(action.SEND_TEMPLATE)
