"""Message templates (テンプレート): saved content of up to 5 LINE messages, uploaded images, per-friend rendering."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Serve uploaded images publicly under /media/; the console's template pages and API; the send_template
    action; the words for buttons that run actions."""
    from crm import api
    from crm.message_templates import action, button_actions, media_views, views
    from crm.message_templates import api as templates_api
    from crm.message_templates.models import MessageTemplate
    from crm.postback_actions.service import register_owner
    from crm.staff.audit_words import named_rows, register_target

    app.register_blueprint(media_views.bp)
    app.register_blueprint(views.bp)
    api.register(app, templates_api.blp)
    action.register()
    register_owner(button_actions.OWNER, button_actions.describe_owner)
    register_target(
        app,
        "template",
        named_rows(MessageTemplate, MessageTemplate.name, endpoint="message_templates.show", id_arg="template_id"),
    )
