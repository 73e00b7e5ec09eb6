"""LINE CRM: the application factory."""

from __future__ import annotations

from flask import Flask

from crm.config import Config


def create_app(config: Config | None = None) -> Flask:
    """Build the Flask app: configuration, database, blueprints, CLI. Nothing happens at import."""
    import surveys
    from crm import api, cli, console, db, health, i18n, logging_setup
    from crm.console import auth, nav
    from crm.outbound import views as webhooks
    from crm.tracking import redirect
    from crm.webhook import views as webhook
    from crm.webhook.postbacks import PostbackRegistry

    app = Flask(__name__, instance_relative_config=True, template_folder="../templates", static_folder="static")
    config = config or Config.from_environ(instance_path=app.instance_path)
    app.config.from_mapping(config.as_flask())
    logging_setup.configure_logging()
    logging_setup.init_app(app)
    db.init_app(app)
    i18n.init_app(app)
    app.extensions[webhook.REGISTRY_KEY] = PostbackRegistry()
    app.register_blueprint(health.bp)
    app.register_blueprint(webhook.bp)
    console.init_app(app)
    surveys.init_app(app)
    redirect.init_app(app)
    from crm.broadcasts import views as broadcast_console

    broadcast_console.init_app(app)
    nav.init_app(app)
    auth.csrf.exempt(webhook.bp)
    auth.csrf.exempt(health.bp)
    cli.init_app(app)
    webhooks.init_app(app)
    api.init_app(app)
    return app
