"""Auto-replies (自動応答): keyword rules and fallbacks that answer a friend's message with a template and
actions, their hits, the emergency stop of every automatic answer, and their console."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the text hook (after the surveys', so a survey expecting free text takes the message first),
    the trigger subscriber for other messages (stickers, images: fallbacks only), the console, the API, the
    banner shown on every console page while the emergency stop is on, and the words of the audit log and the
    action history."""
    from crm import api, triggers
    from crm.actions.history import register_source
    from crm.auto_replies import api as auto_replies_api
    from crm.auto_replies import hooks, views
    from crm.auto_replies.models import AutoReplyRule
    from crm.friends.extras import register_page_section
    from crm.staff.audit_words import named_rows, register_target
    from crm.webhook.hooks import event_hooks

    event_hooks(app).on_text(hooks.on_text)
    triggers.subscribe(hooks.on_trigger)
    app.register_blueprint(views.bp)
    api.register(app, auto_replies_api.blp)
    app.context_processor(hooks.console_context)
    app.context_processor(views.template_helpers)
    register_page_section(app, "auto_replies/_friend_answers.html", hooks.friend_page_helpers)
    register_target(
        app, "auto_reply", named_rows(AutoReplyRule, AutoReplyRule.name, endpoint="auto_replies.edit", id_arg="rule_id")
    )
    register_source("auto_reply", hooks.describe_source)
