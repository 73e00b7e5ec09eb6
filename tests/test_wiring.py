"""create_app wires every feature through its init_app: blueprints, the API document, navigation, the
friend page's sections, the friend API's extra keys and the worker's jobs."""

import re

import pytest

from crm import create_app, features
from crm.config import testing_config
from crm.db import get_engine, session_scope
from crm.friends import service as friends
from crm.friends.extras import friend_extras, register_detail
from crm.jobs import Job, register_jobs, registered_jobs
from crm.timeutil import utcnow
from tests.console_helpers import signed_in_client

CONSOLE_BLUEPRINTS = {
    "auth", "home", "api_docs", "audit", "staff_admin", "api_tokens", "friend", "friends", "tags", "fields",
    "surveys", "survey_form", "richmenus", "richmenu_publish", "segments", "redirect", "broadcasts",
    "broadcast_send", "privacy", "webhooks", "webhook_failures", "imports", "followers_import", "media",
    "message_templates", "scenarios", "scenario_steps", "scenario_friends", "inbox", "inbox_actions",
    "auto_replies", "routes", "route_public", "conversions", "conversion_rfm", "conversion_collect",
}  # fmt: skip
API_BLUEPRINTS = [
    "api_friends", "api_friend_data", "api_tags", "api_templates", "api_scenarios", "api_surveys",
    "api_auto_replies", "api_segments", "api_broadcasts", "api_conversions",
]  # fmt: skip
ADMIN_NAV = [
    "/", "/friends", "/chat", "/tags",
    "/broadcasts", "/scenarios", "/auto-replies", "/templates", "/richmenus", "/surveys", "/segments",
    "/surveys/results", "/routes", "/conversions", "/conversions/rfm", "/audit",
    "/fields", "/imports", "/exports", "/staff", "/settings/webhooks", "/settings/line-events/failed",
    "/settings/followers-import", "/settings/api-tokens",
]  # fmt: skip


@pytest.fixture(scope="module")
def bare_app():
    """An app that is never served (nothing here touches its database)."""
    return create_app(testing_config("sqlite://"))


def test_every_feature_has_init_app():
    assert all(callable(getattr(feature, "init_app", None)) for feature in features())


def test_each_blueprint_is_registered_once(bare_app):
    expected = CONSOLE_BLUEPRINTS | set(API_BLUEPRINTS) | {"health", "line_webhook", "api-docs"}
    assert set(bare_app.blueprints) == expected


def test_the_api_document_lists_the_features_in_order_and_bearer_routes_skip_csrf(bare_app):
    document = bare_app.test_client().get("/api/v1/openapi.json").get_json()
    assert [tag["name"] for tag in document["tags"]] == API_BLUEPRINTS
    assert {"/api/v1/surveys", "/api/v1/friends/{friend_id}", "/api/v1/broadcasts"} <= set(document["paths"])
    exempt = {blueprint.name for blueprint in bare_app.extensions["csrf"]._exempt_blueprints}
    assert exempt == set(API_BLUEPRINTS) | {"health", "line_webhook", "redirect", "route_public", "conversion_collect"}


def test_friend_page_sections_and_api_details_come_from_the_features(bare_app):
    extras = friend_extras(bare_app)
    assert [section.template for section in extras.sections] == [
        "sending/_friend_failed_replies.html",
        "actions/_friend_history.html",
        "scenarios/_friend_scenarios.html",
        "surveys/_friend_answers.html",
        "auto_replies/_friend_answers.html",
        "tracking/_friend_clicks.html",
        "broadcasts/_friend_broadcasts.html",
        "routes/_friend_routes.html",
        "conversions/_friend_conversions.html",
    ]
    assert list(extras.details) == ["survey_responses", "clicks", "conversions"]


def test_a_detail_key_is_registered_once(bare_app):
    with pytest.raises(ValueError, match="clicks"):
        register_detail(bare_app, "clicks", lambda *args, **kwargs: [])


def test_the_worker_jobs_come_from_the_features_jobs_tables(bare_app):
    assert [(job.id, job.seconds) for job in registered_jobs(bare_app)] == [
        ("webhook_payload_retention", 3600),
        ("webhook_sweep", 2),
        ("profiles", 1),
        ("replies", 2),
        ("actions", 2),
        ("scenarios", 5),
        ("richmenu_relinks", 2),
        ("click_actions", 2),
        ("delivery", 1),
        ("rfm_scores", 900),
        ("webhooks", 2),
        ("relay", 2),
        ("relay_prune", 3600),
        ("followers_import", 2),
    ]
    with pytest.raises(ValueError, match="delivery"):
        register_jobs(bare_app, [Job("delivery", seconds=5, tick=lambda app, engine, line: None)])


def test_the_admin_navigation_lists_every_area_in_order(app):
    page = signed_in_client(app, "admin").get("/").get_data(as_text=True)
    nav = page[page.index("<nav") : page.index("</nav>")]
    assert re.findall(r'<a href="([^"]+)"', nav) == ADMIN_NAV


def test_the_friend_page_shows_the_registered_sections_in_order(app):
    with session_scope(get_engine(app)) as session:
        friend_id = friends.follow(session, line_user_id="U" + "a" * 32, at=utcnow())
    page = signed_in_client(app, "admin").get(f"/friends/{friend_id}").get_data(as_text=True)
    anchors = ("chat", "action-history", "scenarios", "answers", "clicks", "broadcasts", "privacy")
    positions = [page.index(f'id="{anchor}"') for anchor in anchors]
    assert positions == sorted(positions)
