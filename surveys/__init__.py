"""Surveys (アンケート): builder, in-chat flow, web form and results; wired into the app by `init_app`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the console and web-form blueprints, the surveys API, the `sv:` postbacks, the text and block
    hooks, the friend page's answers section and the chat inbox's answers, the friend API's responses, the
    rich-menu survey buttons and the inflow routes' figure of friends who answered a survey afterwards."""
    from crm import api
    from crm.friends.extras import register_detail, register_page_section
    from crm.inbox.talk import register_postback_words, register_talk_source
    from crm.richmenus import register_survey_choices
    from crm.staff.audit_words import named_rows, register_target
    from crm.webhook.hooks import event_hooks
    from crm.webhook.postbacks import postback_registry
    from surveys import action_kinds, chat_messages, flow, route_figures, talk_source
    from surveys import api as surveys_api
    from surveys.models import Survey
    from surveys.views import builder as console
    from surveys.views import webform

    console.init_app(app)
    app.register_blueprint(webform.bp)
    api.register(app, surveys_api.blp)
    postback_registry(app).register(chat_messages.PREFIX, flow.on_postback)
    hooks = event_hooks(app)
    hooks.on_text(flow.on_text)
    hooks.on_block(flow.on_block)
    register_page_section(app, "surveys/_friend_answers.html", _friend_page_helpers)
    register_detail(app, "survey_responses", surveys_api.friend_responses)
    register_survey_choices(app, rich_menu_survey_choices)
    register_target(app, "survey", named_rows(Survey, Survey.title, endpoint="surveys.show", id_arg="survey_id"))
    action_kinds.register()
    route_figures.register()
    register_talk_source("survey-answer", talk_source.answer_items)
    register_postback_words(chat_messages.PREFIX, talk_source.describe_tap)


def rich_menu_survey_choices(session) -> list[tuple[str, str]]:
    """(title, postback data) of the published surveys a rich-menu button can start."""
    from sqlmodel import select

    from surveys.chat_messages import start_data
    from surveys.models import Survey, SurveyStatus

    published = session.exec(select(Survey).where(Survey.status == SurveyStatus.PUBLISHED).order_by(Survey.title)).all()
    return [(survey.title, start_data(survey.id)) for survey in published]


def _friend_page_helpers() -> dict:
    """`friend_survey_answers(friend_id)` for the friend page's answers section."""
    from crm.db import get_session
    from surveys.results import answers_for_friend

    return {"friend_survey_answers": lambda friend_id: answers_for_friend(get_session(), friend_id)}
