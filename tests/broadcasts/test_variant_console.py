"""A/B variants in the console and the API: building variants without JavaScript (add, remove, from a
template), the composer's checks, the show, preview, confirmation and statistics pages, the test send of every
variant, and the API's read and create."""

import json
import re

import pytest
from sqlmodel import select

from crm.broadcasts import models
from crm.broadcasts import variants as broadcast_variants
from crm.broadcasts.models import Broadcast, BroadcastRecipient, BroadcastVariant, RecipientState
from crm.broadcasts.models import BroadcastStatus as S
from crm.tags.models import Tag
from tests.api.helpers import api_client, seed
from tests.broadcasts.helpers import T0, add_broadcast, add_friends, db
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import friend_id_of, make_broadcast, make_template

BASE = {
    "name": "Spring sale",
    "purpose": "",
    "segment": "",
    "track_links": "y",
    "control_percent": "10",
    "goal_kind": "",
    "goal_days": "7",
}
TWO = {
    **BASE,
    "variants-0-weight": "60",
    "variants-0-messages-0-kind": "text",
    "variants-0-messages-0-text": "20%オフ",
    "variants-1-weight": "40",
    "variants-1-messages-0-kind": "text",
    "variants-1-messages-0-text": "送料無料",
    "variants-1-messages-1-kind": "sticker",
    "variants-1-messages-1-sticker": "446:1988",
}


def _client(app, role="marketer"):
    return signed_in_client(app, role, locale="en")


def _post(client, path, data):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/broadcasts/new")})


def _variant_legends(page: str) -> list[str]:
    return re.findall(r'class="ab-variant" data-variant="(\w)"', page)


def test_adding_and_removing_variants_needs_no_javascript_and_saves_nothing(app):
    client = _client(app)
    single = {**BASE, "messages-0-kind": "text", "messages-0-text": "セールです"}
    added = _post(client, "/broadcasts/new", {**single, "variant_op": "add"})
    page = added.get_data(as_text=True)
    assert added.status_code == 200 and _variant_legends(page) == ["A", "B"]
    assert page.count("セールです") == 2  # A and B both start from the content
    assert 'name="variants-0-weight" type="number" value="50"' in page
    assert 'name="variants-1-weight" type="number" value="50"' in page
    three = {**TWO, "variant_op": "add"}
    page = _post(client, "/broadcasts/new", three).get_data(as_text=True)
    assert _variant_legends(page) == ["A", "B", "C"] and 'value="34"' in page and page.count("20%オフ") == 2
    four = _post(client, "/broadcasts/new", {**TWO, "variants-2-messages-0-kind": "text", "variant_op": "add"})
    page = four.get_data(as_text=True)
    assert _variant_legends(page) == ["A", "B", "C", "D"] and 'value="add"' not in page  # four at most
    removed = _post(client, "/broadcasts/new", {**TWO, "variant_op": "remove-0"}).get_data(as_text=True)
    assert _variant_legends(removed) == []  # one content left: no A/B test, B's messages are the content
    assert "送料無料" in removed and "20%オフ" not in removed
    with db(app) as session:
        assert session.exec(select(Broadcast)).all() == []


def test_a_variant_starts_from_a_template(app):
    template_id = make_template(app, [{"type": "text", "text": "テンプレートの文面"}], name="春")
    client = _client(app)
    data = {**TWO, "variant_op": "template-1", "variant_template-1": str(template_id)}
    page = _post(client, "/broadcasts/new", data).get_data(as_text=True)
    assert "テンプレートの文面" in page and "20%オフ" in page and "送料無料" not in page


def test_saving_an_ab_draft_and_seeing_it(app):
    with db(app) as session:
        add_friends(session, 3)
    client = _client(app)
    response = _post(client, "/broadcasts/new", TWO)
    assert response.status_code == 302, response.get_data(as_text=True)
    with db(app) as session:
        broadcast = session.exec(select(Broadcast)).one()
        variants = broadcast_variants.of_broadcast(session, broadcast.id)
    assert [(v.label, v.weight, len(v.messages)) for v in variants] == [("A", 60, 1), ("B", 40, 2)]
    listing = client.get("/broadcasts").get_data(as_text=True)
    assert '<span class="status ab-test">A/B test</span>' in listing
    show = client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert re.findall(r'broadcast-variant" data-variant="(\w)"', show) == ["A", "B"]
    assert "60% of the sent group" in show and "送料無料" in show
    edit = client.get(f"/broadcasts/{broadcast.id}/edit").get_data(as_text=True)
    assert _variant_legends(edit) == ["A", "B"] and 'value="60"' in edit
    confirm = client.get(f"/broadcasts/{broadcast.id}/confirm").get_data(as_text=True)
    split = re.findall(r'<tr data-variant="(\w)"><td>[^<]+</td><td>(\d+)%</td><td>([^<]+)</td>', confirm)
    assert split == [("A", "60", "2 friends"), ("B", "40", "1 friends")]  # 3 friends, 10 % held out first
    preview = client.get(f"/broadcasts/{broadcast.id}/preview").get_data(as_text=True)
    assert re.findall(r'preview-variant" data-variant="(\w)"', preview) == ["A", "B"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"variants-1-weight": "30"}, "add up to 100% (now 90%)"),
        ({"variants-1-weight": "100"}, "between 1 and 99"),
        (
            {"variants-1-messages-0-kind": "", "variants-1-messages-1-kind": ""},
            "Variant B: A broadcast has between 1",
        ),
        ({"variants-0-messages-0-text": ""}, "text"),
    ],
)
def test_bad_variants_show_the_error_and_save_nothing(app, changes, expected):
    client = _client(app)
    response = _post(client, "/broadcasts/new", {**TWO, **changes})
    assert response.status_code == 400
    assert expected in response.get_data(as_text=True)
    with db(app) as session:
        assert session.exec(select(Broadcast)).all() == []


def test_the_statistics_page_shows_each_variant_and_no_bare_rate_on_small_groups(app):
    with db(app) as session:
        ids = add_friends(session, 8)
        tag = Tag(name="Bought")
        session.add(tag)
        session.flush()
        goal = json.dumps({"kind": "tag", "id": tag.id, "days": 7})
        broadcast = add_broadcast(session, status=S.SENT, started_at=T0, goal=goal)
        a = BroadcastVariant(broadcast_id=broadcast.id, label="A", weight=50, messages="[]")
        b = BroadcastVariant(broadcast_id=broadcast.id, label="B", weight=50, messages="[]")
        session.add_all([a, b])
        session.flush()
        for friend_id, variant in zip(ids[:6], [a, a, a, b, b, None], strict=True):
            state = RecipientState.SENT if variant else RecipientState.HELD_OUT
            session.add(
                BroadcastRecipient(
                    broadcast_id=broadcast.id,
                    friend_id=friend_id,
                    state=state,
                    variant_id=variant.id if variant else None,
                    sent_at=T0 if variant else None,
                )
            )
    analyst = _client(app, "analyst")
    page = analyst.get(f"/broadcasts/{broadcast.id}/stats").get_data(as_text=True)
    rows = re.findall(r'<tr data-variant="(\w)"><td>\w</td><td>(\d+)%</td><td data-figure="recipients">(\d+)', page)
    assert rows == [("A", "50", "3"), ("B", "50", "2")]
    friend_page = analyst.get(f"/friends/{ids[3]}").get_data(as_text=True)
    assert '<span class="friend-variant">Variant B</span>' in friend_page  # the friend page names their variant
    goals = page[page.index('class="variant-goals"') :]
    assert "Too few friends yet (3; at least 30)." in goals and "Too few friends yet (2; at least 30)." in goals
    assert "Too few friends to compare yet (2 in Variant B, 3 in Variant A; at least 30 each)." in goals
    assert "%" not in goals.split("</ul>")[0]  # no bare percentage on groups this small


def test_a_test_send_sends_every_variant_marked_with_its_letter(app, sim, crm_server):
    user_id = sim.create_user("店長")
    sim.follow(user_id)
    with db(app) as session:
        session.add(models.TestFriend(friend_id=friend_id_of(app, user_id), label="店長"))
    broadcast_id = make_broadcast(app, [{"type": "text", "text": "A案"}], status=S.DRAFT)
    with db(app) as session:
        for label, text in (("A", "A案"), ("B", "B案"), ("C", "C案")):
            messages = json.dumps([{"type": "text", "text": text}], ensure_ascii=False)
            session.add(BroadcastVariant(broadcast_id=broadcast_id, label=label, weight=33, messages=messages))
    client = _client(app)
    token = csrf_token(client, f"/broadcasts/{broadcast_id}/preview")
    response = client.post(f"/broadcasts/{broadcast_id}/test", data={"csrf_token": token}, follow_redirects=True)
    assert "Test of variants A, B, C sent to 1 test friends." in response.get_data(as_text=True)
    texts = [entry["messages"][0]["text"] for entry in sim.inbox(user_id)]
    assert texts == ["[テスト A] A案", "[テスト B] B案", "[テスト C] C案"]


def test_the_api_creates_and_reads_variants_and_their_statistics(app):
    seed(app)
    client = api_client(app, "marketer")
    created = client.post(
        "/api/v1/broadcasts",
        json={
            "name": "AB",
            "variants": [
                {"messages": [{"type": "text", "text": "A"}]},
                {"messages": [{"type": "text", "text": "B"}]},
            ],
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert [(v["label"], v["weight"]) for v in body["variants"]] == [("A", 50), ("B", 50)]
    assert body["messages"] == [{"type": "text", "text": "A"}]
    listed = client.get("/api/v1/broadcasts").get_json()["data"]
    assert {b["name"]: len(b["variants"]) for b in listed} == {"AB": 2, "Seeded draft": 0}
    stats = client.get(f"/api/v1/broadcasts/{body['id']}/statistics").get_json()
    assert [(v["label"], v["recipients"], v["goal"]) for v in stats["variants"]] == [("A", 0, None), ("B", 0, None)]
    bad = client.post(
        "/api/v1/broadcasts",
        json={"name": "AB", "variants": [{"messages": [{"type": "text", "text": "A"}], "weight": 70}] * 2},
    )
    assert bad.status_code == 422 and "variants" in str(bad.get_json()["error"]["details"])
