"""LINE CRM: the application factory."""

from __future__ import annotations

from flask import Flask

from crm.config import Config


def features() -> tuple:
    """The feature packages, each with `init_app(app)`, in the order the API document lists their endpoints,
    the friend page shows their sections and the worker schedules their jobs."""
    import surveys
    from crm import (
        actions,
        auto_replies,
        broadcasts,
        conversions,
        fields,
        friends,
        imports,
        inbox,
        message_templates,
        outbound,
        postback_actions,
        privacy,
        richmenus,
        routes,
        scenarios,
        segments,
        sending,
        staff,
        tags,
        tracking,
    )

    return (
        staff,
        friends,
        tags,
        fields,
        sending,
        actions,
        message_templates,
        scenarios,
        surveys,
        auto_replies,
        richmenus,
        postback_actions,
        segments,
        tracking,
        broadcasts,
        routes,
        conversions,
        privacy,
        outbound,
        imports,
        inbox,
    )


def create_app(config: Config | None = None) -> Flask:
    """Build the Flask app: configuration, database, extensions, the shells, then each feature. Nothing happens
    at import."""
    from crm import api, cli, console, db, extensions, health, logging_setup, security, webhook

    app = Flask(__name__, instance_relative_config=True, template_folder="../templates", static_folder="static")
    config = config or Config.from_environ(instance_path=app.instance_path)
    app.config.from_mapping(config.as_flask())
    security.init_app(app)
    logging_setup.configure_logging()
    logging_setup.init_app(app)
    db.init_app(app)
    extensions.init_app(app)
    app.register_blueprint(health.bp)
    extensions.csrf.exempt(health.bp)
    webhook.init_app(app)
    console.init_app(app)
    api.init_app(app)
    for feature in features():
        feature.init_app(app)
    cli.init_app(app)
    security.trust_proxies(app)
    return app
