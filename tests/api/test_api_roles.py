"""Every API operation × every role: 403 without the permission (nothing changed), success with it.

Operations are read from the app's URL map, so endpoints added later join the matrix by themselves."""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from crm import create_app
from crm.config import testing_config
from crm.db import get_engine, session_scope
from crm.permissions import ROLES, can
from crm.scenarios.enrolment import enrol
from crm.timeutil import utcnow
from tests.api.helpers import api_client, seed
from tests.conversions.helpers import make_point
from tests.factories import make_scenario, make_template

pytestmark = pytest.mark.db_agnostic
# A valid body per operation that takes one (the matrix checks guards, the other tests check behaviour).
BODIES = {
    "api_tags.create_tag": {"name": "Matrix"},
    "api_tags.update_tag": {"name": "Renamed"},
    "api_friend_data.create_note": {"body": "hello"},
    "api_friend_data.set_field": {"value": "gold"},
    "api_friend_data.set_attention": {"attention": "needed"},
    "api_segments.count": {"tree": {"type": "all", "conditions": []}},
    "api_broadcasts.create": {"name": "Sale", "messages": [{"type": "text", "text": "Sale today"}]},
    "api_broadcasts.schedule": {},
}


def api_operations() -> list[tuple[str, str, str, str]]:
    """(endpoint, method, rule, permission) of every token-guarded route."""
    app = create_app(testing_config("sqlite://"))
    found = []
    for rule in app.url_map.iter_rules():
        permission = getattr(app.view_functions[rule.endpoint], "required_api_permission", None)
        if permission is not None:
            found += [
                (rule.endpoint, method, rule.rule, permission) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
            ]
    return found


OPERATIONS = api_operations()


def _url(app, endpoint: str, method: str, ids: dict) -> str:
    rule = next(r for r in app.url_map.iter_rules(endpoint) if method in r.methods)
    values = {
        "friend_id": ids["friend_id"],
        "tag_id": ids["tag_id"],
        "key": ids["field_key"],
        "survey_id": ids["survey_id"],
        "broadcast_id": ids["broadcast_id"],
        "template_id": ids["template_id"],
        "scenario_id": ids.get("scenario_id"),
    }
    needed = {name: values.get(name, 1) for name in rule.arguments}
    assert all(name in values or isinstance(rule._converters[name], IntegerConverter) for name in rule.arguments)
    return app.url_map.bind("localhost").build(endpoint, needed, method=method)


def test_the_matrix_covers_the_api():
    assert {
        "api_friends.list_friends",
        "api_tags.create_tag",
        "api_friend_data.add_tag",
        "api_surveys.list_responses",
    } <= {op[0] for op in OPERATIONS}


@pytest.mark.parametrize(
    "operation, role", [pytest.param(op, role, id=f"{op[0]}-{op[1]}-{role}") for op in OPERATIONS for role in ROLES]
)
def test_operation_permission(app, operation, role):
    endpoint, method, _rule, permission = operation
    ids = seed(app)
    if endpoint.startswith("api_surveys.") and "survey_id" in _rule:
        ids["survey_id"] = _survey(app)
    body = BODIES.get(endpoint)
    if endpoint.startswith("api_scenarios.") and "scenario_id" in _rule:
        ids["scenario_id"] = _scenario_with(app, ids["friend_id"])
        body = {"friend_id": ids["friend_id"]} if method == "POST" else body
    if endpoint == "api_conversions.create_conversion":
        body = {"point_id": make_point(app), "friend_id": ids["friend_id"], "value": 1000, "order_id": "matrix"}
    client = api_client(app, role)
    url = _url(app, endpoint, method, ids)
    response = client.open(method, url, json=body)
    if can(role, permission):
        assert response.status_code in (200, 201, 204), (url, response.get_data(as_text=True))
    else:
        assert response.status_code == 403, (url, response.status_code)
        assert response.get_json()["error"]["code"] == "forbidden"


def _scenario_with(app, friend_id: int) -> int:
    """An active scenario the friend is enrolled in (removing them answers 204; enrolling again is refused)."""
    scenario_id = make_scenario(app, steps=[{"template_id": make_template(app), "delay_minutes": 60}])
    with session_scope(get_engine(app)) as session:
        enrol(session, scenario_id=scenario_id, friend_id=friend_id, trigger_key="matrix", now=utcnow())
    return scenario_id


def _survey(app) -> int:
    from crm.db import get_engine, session_scope
    from surveys.models import Survey

    with session_scope(get_engine(app)) as session:
        survey = Survey(title="Matrix survey")
        session.add(survey)
        session.flush()
        return survey.id
