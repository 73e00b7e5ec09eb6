"""LINE platform simulator: a small Flask app that stands in for LINE's Messaging API and webhooks."""

from __future__ import annotations

from flask import Flask

from linesim import ids

DEFAULTS = {
    "CHANNEL_SECRET": "simulator-channel-secret",
    "CHANNEL_ACCESS_TOKEN": "simulator-access-token",
    "LOGIN_CHANNEL_ID": "1660000001",  # the LINE Login channel linked to the bot (inflow routes)
    "LOGIN_CHANNEL_SECRET": "simulator-login-channel-secret-32",
    "WEBHOOK_URL": None,
    "BOT_USER_ID": None,
    "RATE_LIMIT_PER_SECOND": None,
    "WEBHOOK_TIMEOUT": 10,
    "ALLOWED_ORIGINS": (),  # origins besides its own whose pages may drive the control API and chat forms
    # Host names the simulator answers to; any other Host (a rebound DNS name pointing here) gets 421
    "ALLOWED_HOSTS": ("127.0.0.1", "localhost", "::1"),
}


def create_app(config: dict | None = None) -> Flask:
    """Build a simulator app; config keys are those of DEFAULTS."""
    # Imported here so that `linesim.client` can be used without loading Flask views and the SDK's models.
    from linesim import (
        chat,
        control_admin,
        control_api,
        errors,
        gateway,
        line_login,
        messaging_api,
        origin,
        richmenu_api,
        text_links,
    )
    from linesim.state import SimState

    settings = {**DEFAULTS, **(config or {})}
    settings["BOT_USER_ID"] = settings["BOT_USER_ID"] or ids.user_id()
    app = Flask(__name__, static_folder=None)
    app.config.update(settings)
    app.json.sort_keys = False
    app.extensions["linesim"] = SimState(settings)
    errors.init_app(app)
    text_links.init_app(app)
    app.before_request(origin.check_host)
    gateway.init_app(app)
    for blueprint in (messaging_api.bp, richmenu_api.bp, control_api.bp, control_admin.bp, chat.bp, line_login.bp):
        app.register_blueprint(blueprint)
    return app
