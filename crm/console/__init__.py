"""The staff console: one blueprint per area, each route guarded by a permission."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register login handling, CSRF protection and the console blueprints."""
    from crm.console import auth, errors, home

    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    from crm.console import audit_log, staff_admin, tags
    app.register_blueprint(tags.bp)
    app.register_blueprint(audit_log.bp)
    app.register_blueprint(staff_admin.bp)
    from crm.console import fields_admin, friend_page
    app.register_blueprint(friend_page.bp)
    app.register_blueprint(fields_admin.bp)
    from crm.console import richmenu_publish, richmenus
    app.register_blueprint(richmenus.bp)
    app.register_blueprint(richmenu_publish.bp)
    from crm.console import friends_list
    app.register_blueprint(friends_list.bp)
    from crm.console import api_docs, api_tokens
    app.register_blueprint(api_tokens.bp)
    app.register_blueprint(api_docs.bp)
    from crm.console import segments
    app.register_blueprint(segments.bp)
    from crm.console import imports, privacy
    app.register_blueprint(imports.bp)
    app.register_blueprint(privacy.bp)
