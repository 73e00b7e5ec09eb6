"""Personal fields in segment conditions: roles that see personal data masked can neither probe them with a
count (console builder, API) nor pick them, and a saved segment using one is refused clearly, not counted."""

from __future__ import annotations

import json

import pytest

from crm.db import get_engine, session_scope
from crm.segments import service as segments
from crm.staff.audit import Actor
from tests.api.helpers import api_client
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import make_field, make_friend, set_field_value

PROBE = {"type": "field", "key": "address", "op": "contains", "value": "渋谷"}
PLAN = {"type": "field", "key": "plan", "op": "eq", "value": "gold"}


@pytest.fixture
def saved(app) -> int:
    """Two friends with an address (personal) and a plan; a saved segment on the address; return its id."""
    address = make_field(app, "address", label="住所", personal=True)
    plan = make_field(app, "plan", label="プラン")
    for n, where in ((1, "東京都渋谷区"), (2, "大阪府大阪市")):
        friend = make_friend(app, n=n)
        set_field_value(app, friend_id=friend, field_id=address, value=where)
        set_field_value(app, friend_id=friend, field_id=plan, value="gold")
    with session_scope(get_engine(app)) as session:
        return segments.create_segment(session, actor=Actor.system("test"), name="渋谷", tree=PROBE).id


def _count(client, tree):
    token = csrf_token(client, "/segments")
    return client.post("/segments/count", json=tree, headers={"X-CSRFToken": token})


def test_analyst_cannot_probe_a_personal_field_with_the_builder_count(app, saved):
    analyst = signed_in_client(app, "analyst")
    refused = _count(analyst, {"type": "all", "conditions": [PROBE]})
    assert refused.status_code == 403 and refused.json["path"] == "conditions[0].key"
    assert "個人情報" in refused.json["error"] and "住所" in refused.json["error"]
    assert _count(analyst, PLAN).json["count"] == 2  # other fields stay usable
    marketer = signed_in_client(app, "marketer")
    assert _count(marketer, PROBE).json["count"] == 1


def test_analyst_builder_options_leave_out_personal_fields(app, saved):
    analyst = signed_in_client(app, "analyst").get("/segments/options").json
    assert [f["key"] for f in analyst["fields"]] == ["plan"]
    marketer = signed_in_client(app, "marketer").get("/segments/options").json
    assert {f["key"] for f in marketer["fields"]} == {"address", "plan"}


def test_a_saved_segment_on_a_personal_field_is_refused_to_the_analyst_not_counted(app, saved):
    analyst = signed_in_client(app, "analyst")
    refused = analyst.get(f"/segments/{saved}/count")
    assert refused.status_code == 403 and "住所" in refused.json["error"] and "count" not in refused.json
    assert signed_in_client(app, "marketer").get(f"/segments/{saved}/count").json == {"count": 1}


def test_api_count_refuses_a_personal_field_to_a_masked_token(app, saved):
    refused = api_client(app, "analyst").post("/api/v1/segments/count", json={"tree": PROBE})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "personal_field"
    assert "key" in json.dumps(refused.json["error"]["details"])
    assert api_client(app, "marketer").post("/api/v1/segments/count", json={"tree": PROBE}).json["count"] == 1
    listed = api_client(app, "analyst").get("/api/v1/segments").json
    assert [(s["id"], s["count"]) for s in listed] == [(saved, None)]
    assert listed[0]["tree"] == {**PROBE, "value": None}  # what was compared with a personal field is hidden too
    assert api_client(app, "admin").get("/api/v1/segments").json[0]["count"] == 1
