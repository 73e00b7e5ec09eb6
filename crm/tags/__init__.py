"""Tags (タグ) and tag folders: the tag service every trigger uses, admin pages and the API."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the tag pages and the tags API."""
    from crm import api
    from crm.staff.audit_words import named_rows, register_target
    from crm.tags import api as tags_api
    from crm.tags import views
    from crm.tags.models import Tag

    app.register_blueprint(views.bp)
    api.register(app, tags_api.blp)
    register_target(app, "tag", named_rows(Tag, Tag.name))
