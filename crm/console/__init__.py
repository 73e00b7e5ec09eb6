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
    from crm.staff import audit_views as audit_log
    from crm.staff import views as staff_admin
    from crm.tags import views as tags

    app.register_blueprint(tags.bp)
    app.register_blueprint(audit_log.bp)
    app.register_blueprint(staff_admin.bp)
    from crm.fields import views as fields_admin
    from crm.friends import page_views as friend_page

    app.register_blueprint(friend_page.bp)
    app.register_blueprint(fields_admin.bp)
    from crm.richmenus import publish_views as richmenu_publish
    from crm.richmenus import views as richmenus

    app.register_blueprint(richmenus.bp)
    app.register_blueprint(richmenu_publish.bp)
    from crm.friends import list_views as friends_list

    app.register_blueprint(friends_list.bp)
    from crm.console import api_docs
    from crm.staff import api_token_views as api_tokens

    app.register_blueprint(api_tokens.bp)
    app.register_blueprint(api_docs.bp)
    from crm.segments import views as segments

    app.register_blueprint(segments.bp)
    from crm.imports import views as imports
    from crm.privacy import views as privacy

    app.register_blueprint(imports.bp)
    app.register_blueprint(privacy.bp)
