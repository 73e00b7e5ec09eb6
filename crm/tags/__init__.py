"""Tags (タグ) and tag folders: the tag service every trigger uses, admin pages and the API."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the tag pages and the tags API."""
    from crm import api
    from crm.tags import api as tags_api
    from crm.tags import views

    app.register_blueprint(views.bp)
    api.register(app, tags_api.blp)
