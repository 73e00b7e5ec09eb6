"""The segments console: list with counts, the live count endpoint, save, edit, errors with paths, delete,
options for builders, and who may do what."""

import json

import pytest
from sqlmodel import Session, select

from crm.db import get_engine
from crm.segments.models import Segment
from tests.console_helpers import csrf_token, post_form, signed_in_client
from tests.segments.world import build


@pytest.fixture
def world(app):
    return build(app)


def count(client, tree, token):
    body = tree if isinstance(tree, str) else json.dumps(tree)
    return client.post("/segments/count", data=body, content_type="application/json", headers={"X-CSRFToken": token})


def test_live_count_and_errors_with_paths(app, world):
    client = signed_in_client(app, "marketer")
    token = csrf_token(client, "/segments/new")
    response = count(client, {"type": "any", "conditions": [{"type": "tag", "tag_id": world.tags["A"]}]}, token)
    assert response.status_code == 200 and response.json["count"] == 2 and response.json["all"] == 3
    bad = count(client, {"type": "any", "conditions": [{"type": "tag", "tag_id": 999}]}, token)
    assert bad.status_code == 400 and bad.json["path"] == "conditions[0].tag_id"
    assert "conditions[0].tag_id" in bad.json["error"]
    assert count(client, "{oops", token).json["path"] == ""
    assert client.post("/segments/count", json={"type": "all"}).status_code == 400  # no CSRF header


def test_save_edit_and_delete_through_the_form(app, world):
    client = signed_in_client(app, "marketer")
    tree = {
        "type": "all",
        "conditions": [{"type": "tag", "tag_id": str(world.tags["B"])}, {"type": "status", "value": "following"}],
    }
    response = post_form(
        client, "/segments/new", {"name": "B のファン", "description": "", "tree": json.dumps(tree)}, "/segments/new"
    )
    assert response.status_code == 302
    with Session(get_engine(app)) as session:
        saved = session.exec(select(Segment)).one()
    assert json.loads(saved.tree)["conditions"][0]["tag_id"] == world.tags["B"]
    assert "B のファン" in client.get("/segments").get_data(as_text=True)
    assert client.get(f"/segments/{saved.id}/count").json == {"count": 2}  # aki and eri; cho is blocked
    page = client.get(f"/segments/{saved.id}/edit").get_data(as_text=True)
    assert "segment_builder.js" in page and "B のファン" in page
    changed = post_form(
        client,
        f"/segments/{saved.id}/edit",
        {"name": "A", "tree": json.dumps({"type": "tag", "tag_id": world.tags["A"]})},
        f"/segments/{saved.id}/edit",
    )
    assert changed.status_code == 302
    assert client.get(f"/segments/{saved.id}/count").json == {"count": 2}  # aki and ben
    deleted = post_form(client, f"/segments/{saved.id}/delete", {}, f"/segments/{saved.id}/edit")
    assert deleted.status_code == 302
    with Session(get_engine(app)) as session:
        assert session.exec(select(Segment)).all() == []


def test_bad_trees_and_names_show_errors_and_keep_the_input(app, world):
    client = signed_in_client(app, "marketer", locale="en")
    bad_tree = json.dumps(
        {"type": "all", "conditions": [{"type": "field", "key": "age", "op": "contains", "value": "1"}]}
    )
    response = post_form(client, "/segments/new", {"name": "x", "tree": bad_tree}, "/segments/new")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "conditions[0].op" in page and "contains" in page
    assert response.status_code == 400
    empty_name = post_form(client, "/segments/new", {"name": "", "tree": "{}"}, "/segments/new")
    assert empty_name.status_code == 400
    post_form(client, "/segments/new", {"name": "x", "tree": '{"type": "all", "conditions": []}'}, "/segments/new")
    clash = post_form(
        client, "/segments/new", {"name": "x", "tree": '{"type": "all", "conditions": []}'}, "/segments/new"
    )
    assert clash.status_code == 400 and "already" in clash.get_data(as_text=True)
    with Session(get_engine(app)) as session:
        assert len(session.exec(select(Segment)).all()) == 1
    assert client.get("/segments/999/edit").status_code == 404
    assert client.get("/segments/999/count").status_code == 404


def test_options_list_what_the_builder_can_pick(app, world):
    client = signed_in_client(app, "analyst")
    data = client.get("/segments/options").json
    assert [t["name"] for t in data["tags"]] == ["A", "B"]
    assert {f["key"]: f["ops"] for f in data["fields"]}["age"] == ["eq", "ne", "lt", "gt", "empty"]
    assert [c["label"] for c in data["questions"][0]["choices"]] == ["yes", "no"]
    assert {link["id"] for link in data["links"]} == set(world.links.values())
    assert {b["name"] for b in data["broadcasts"]} == {"b1", "b2"}


@pytest.mark.parametrize(
    "role, view, edit",
    [("admin", 200, 200), ("marketer", 200, 200), ("analyst", 200, 403), ("editor", 403, 403), ("staff", 403, 403)],
)
def test_who_may_view_and_edit(app, role, view, edit):
    client = signed_in_client(app, role)
    assert client.get("/segments").status_code == view
    assert client.get("/segments/new").status_code == edit
    assert ("/segments" in client.get("/").get_data(as_text=True)) == (view == 200)
