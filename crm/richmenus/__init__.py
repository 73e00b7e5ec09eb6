"""Rich menus (リッチメニュー): builder, images, publishing to LINE and per-tag rules."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlmodel import Session

SURVEY_CHOICES_KEY = "crm_richmenu_survey_choices"


def init_app(app: Flask) -> None:
    """Register the rich menu builder and publishing pages, the relink job, the link_richmenu action and the words
    for areas that run actions."""
    from crm.jobs import register_jobs
    from crm.postback_actions.service import register_owner
    from crm.richmenus import action_kind, area_actions, jobs, publish_views, views

    app.register_blueprint(views.bp)
    app.register_blueprint(publish_views.bp)
    register_jobs(app, jobs.JOBS)
    action_kind.register()
    register_owner(area_actions.OWNER, area_actions.describe_owner)


def register_survey_choices(app: Flask, provider: Callable[[Session], list[tuple[str, str]]]) -> None:
    """Let buttons start a survey: provider(session) lists (survey title, postback data)."""
    app.extensions[SURVEY_CHOICES_KEY] = provider
