"""Postback actions: rich-menu areas and template buttons that run a stored list of actions when tapped, through
a signed reference in the postback data; taps counted per button."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Handle `pa:` postbacks and say their source in the friend's history."""
    from crm.actions.history import register_source
    from crm.postback_actions import service, signing, taps
    from crm.webhook.postbacks import postback_registry

    postback_registry(app).register(signing.PREFIX, taps.on_postback)
    register_source(taps.SOURCE_PREFIX, service.describe_list)
