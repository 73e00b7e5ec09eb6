"""The conversion and RFM conditions in the segment builder: what the options and the page give the builder,
and a tree built from those inputs (numbers as the inputs send them) validated, counted and saved as it was."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import Session, select

from crm.db import get_engine
from crm.segments.condition_select import chosen_tree
from crm.segments.models import Segment
from crm.segments.registry import BuilderInputs, ConditionKind, condition_kind, register_condition
from crm.segments.service import friend_ids as segment_friend_ids
from crm.timeutil import utcnow
from tests.console_helpers import csrf_token, post_form, signed_in_client
from tests.conversions.helpers import recent_buyers

I18N = re.compile(r'<script type="application/json" id="segment-i18n">(.*?)</script>', re.S)


@pytest.fixture
def shop(app):
    return recent_buyers(app)


def test_the_options_offer_the_four_conditions_with_the_points_to_pick(app, shop):
    client = signed_in_client(app, "marketer")
    offered = client.get("/segments/options").json["registered"]
    assert [spec["type"] for spec in offered] == ["converted", "conversion_value", "rfm", "decile"]
    registered = {spec["type"]: spec for spec in offered}
    assert registered["converted"] == {
        "type": "converted",
        "kind": "choice_days",
        "keys": ["point_id", "days"],
        "default": {"point_id": "", "days": 30},
        "low": 0,
        "high": 0,
        "options": [{"id": shop["sign_up"], "name": "会員登録"}, {"id": shop["buy"], "name": "購入"}],
    }
    assert registered["conversion_value"]["kind"] == "amount"
    assert registered["rfm"]["default"] == {"r": [1, 5], "f": [1, 5], "m": [1, 5]}
    assert (registered["decile"]["low"], registered["decile"]["high"]) == (1, 10)


def test_the_builder_page_names_them_in_japanese(app):
    client = signed_in_client(app, "marketer")
    words = json.loads(I18N.search(client.get("/segments/new").get_data(as_text=True)).group(1))
    assert words["converted"] == "コンバージョンあり"
    assert words["converted.days"] == "日以内（0 なら期間を問わない）"
    assert (words["conversion_value"], words["conversion_value.min"]) == ("コンバージョン金額の合計", "円以上")
    assert words["rfm.r"] == "R（最終購入日）" and words["range_to"] == "〜"
    assert words["decile"] == "購入金額のデシル"
    assert words["tag"] == "タグあり"  # the builder's own words are still there


def test_a_tree_from_the_inputs_counts_and_saves_as_built(app, shop):
    client = signed_in_client(app, "marketer")
    token = csrf_token(client, "/segments/new")
    # as the builder sends it: the point picked from a select (a string until changed), numbers typed
    built = {
        "type": "all",
        "conditions": [
            {"type": "converted", "point_id": str(shop["buy"]), "days": 30},
            {"type": "conversion_value", "min": 5000},
        ],
    }

    def count(tree):
        return client.post(
            "/segments/count", data=json.dumps(tree), content_type="application/json", headers={"X-CSRFToken": token}
        )

    response = count(built)
    assert response.status_code == 200 and response.json["count"] == 2  # aki (7,000), dan (6,000)
    normalised = response.json["tree"]
    assert normalised["conditions"][0] == {"type": "converted", "point_id": shop["buy"], "days": 30}
    assert count(normalised).json == response.json  # the round trip changes nothing
    assert count({**built, "conditions": built["conditions"][:1]}).json["count"] == 3  # ben too
    ever = {"type": "converted", "point_id": shop["buy"], "days": 0}
    assert count(ever).json["count"] == 4
    bad = count({"type": "all", "conditions": [{"type": "conversion_value", "min": "多い"}]})
    assert bad.status_code == 400 and bad.json["path"] == "conditions[0].min"

    saved = post_form(client, "/segments/new", {"name": "最近の購入者", "tree": json.dumps(built)}, "/segments/new")
    assert saved.status_code == 302
    with Session(get_engine(app)) as session:
        segment = session.exec(select(Segment)).one()
    assert json.loads(segment.tree) == normalised
    assert client.get(f"/segments/{segment.id}/count").json == {"count": 2}
    # scenario goals and auto-reply conditions pick saved segments (condition_select) and match friends by them
    with Session(get_engine(app)) as session:
        tree = chosen_tree(session, str(segment.id), None, gone=LookupError)
        matched = set(session.exec(segment_friend_ids(session, tree, now=utcnow())).scalars())
    assert matched == {shop["aki"], shop["dan"]}


def test_the_defaults_the_builder_starts_from_are_valid(app, shop):
    client = signed_in_client(app, "marketer")
    token = csrf_token(client, "/segments/new")
    for spec in client.get("/segments/options").json["registered"]:
        leaf = {"type": spec["type"], **spec["default"]}
        if spec["kind"] == "choice_days":
            leaf[spec["keys"][0]] = spec["options"][0]["id"]
        response = client.post(
            "/segments/count", data=json.dumps(leaf), content_type="application/json", headers={"X-CSRFToken": token}
        )
        assert response.status_code == 200, (spec["type"], response.json)


def test_a_condition_without_builder_inputs_is_not_offered_and_an_unknown_input_kind_is_refused(app):
    plain = condition_kind("converted")
    with pytest.raises(ValueError):
        register_condition(ConditionKind("odd", plain.check, plain.friend_ids, BuilderInputs("Odd", "slider", (), {})))
    assert condition_kind("odd") is None
    register_condition(ConditionKind("converted", plain.check, plain.friend_ids))
    try:
        client = signed_in_client(app, "marketer")
        offered = client.get("/segments/options").json["registered"]
        assert [spec["type"] for spec in offered] == ["conversion_value", "rfm", "decile"]
    finally:
        register_condition(plain)
