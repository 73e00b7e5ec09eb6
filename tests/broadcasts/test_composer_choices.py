"""The composer without typing ids: a quick audience of tags (all / any / none) stored as the broadcast's own
tree, stickers picked from LINE's standard ones, and images uploaded instead of a URL."""

import io
import json
import re

import pytest
from sqlmodel import select

from crm.broadcasts.models import Broadcast
from crm.message_templates.models import UploadedImage
from crm.tags.models import FriendTag
from tests.broadcasts.helpers import add_broadcast, add_friends, db
from tests.broadcasts.test_console import FORM, _client, _only_broadcast, _post
from tests.console_helpers import csrf_token
from tests.factories import make_tags
from tests.message_templates.helpers import image_bytes


@pytest.fixture
def tagged(app):
    """Three friends: one with both tags, one with VIP only, one untagged; and the tags' ids."""
    vip, regular = make_tags(app, "VIP", "常連")
    with db(app) as session:
        both, only_vip, _untagged = add_friends(session, 3)
        session.add_all(
            [
                FriendTag(friend_id=both, tag_id=vip, added_by="test"),
                FriendTag(friend_id=both, tag_id=regular, added_by="test"),
                FriendTag(friend_id=only_vip, tag_id=vip, added_by="test"),
            ]
        )
    return vip, regular


def _quick(tags, match):
    return {**FORM, "segment": "quick", "quick_tags": [str(tag) for tag in tags], "quick_match": match}


@pytest.mark.parametrize(("match", "count"), [("all", 1), ("any", 2), ("none", 1)])
def test_a_quick_audience_counts_live_and_is_stored_as_the_broadcasts_own_tree(app, tagged, match, count):
    client = _client(app)
    tags = "&".join(f"tags={tag}" for tag in tagged)
    assert client.get(f"/broadcasts/count?segment=quick&{tags}&match={match}").get_json() == {"count": count}
    assert _post(client, "/broadcasts/new", _quick(tagged, match), "/broadcasts/new").status_code == 302
    broadcast = _only_broadcast(app)
    assert broadcast.segment_id is None
    leaves = [{"tag_id": tag, "type": "tag"} for tag in tagged]
    expected = {
        "all": {"type": "all", "conditions": leaves},
        "any": {"type": "any", "conditions": leaves},
        "none": {"type": "not", "condition": {"type": "any", "conditions": leaves}},
    }[match]
    assert json.loads(broadcast.segment_tree) == expected
    page = client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert "VIP, 常連" in page.split('id="quick-audience">')[1].split("</span>")[0]
    edit = client.get(f"/broadcasts/{broadcast.id}/edit").get_data(as_text=True)
    assert '<option selected value="quick">' in edit
    assert f'checked id="quick_match-{["all", "any", "none"].index(match)}"' in edit
    assert all(f'checked id="quick_tags-{index}"' in edit for index in range(2))


def test_a_quick_audience_needs_a_tag(app, tagged):
    client = _client(app)
    response = _post(client, "/broadcasts/new", _quick([], "any"), "/broadcasts/new")
    assert response.status_code == 400 and "Tick at least one tag." in response.get_data(as_text=True)
    assert client.get("/broadcasts/count?segment=quick&match=any").status_code == 400
    assert client.get("/broadcasts/count?segment=quick&tags=99999&match=any").status_code == 400  # no such tag
    with db(app) as session:
        assert session.exec(select(Broadcast)).first() is None


def test_a_tree_made_elsewhere_is_kept_when_the_draft_is_edited(app):
    tree = json.dumps({"type": "all", "conditions": [{"type": "status", "value": "following"}]})
    with db(app) as session:
        add_friends(session, 2)
        broadcast_id = add_broadcast(session, segment_tree=tree).id
    client = _client(app)
    edit = client.get(f"/broadcasts/{broadcast_id}/edit").get_data(as_text=True)
    assert '<option selected value="keep">' in edit
    assert client.get(f"/broadcasts/count?segment=keep&broadcast={broadcast_id}").get_json() == {"count": 2}
    saved = _post(client, f"/broadcasts/{broadcast_id}/edit", {**FORM, "segment": "keep"}, "/broadcasts/new")
    assert saved.status_code == 302
    assert json.loads(_only_broadcast(app).segment_tree) == json.loads(tree)


def test_stickers_are_picked_from_lines_standard_ones(app):
    client = _client(app)
    page = client.get("/broadcasts/new").get_data(as_text=True)
    assert 'value="446:1988"' in page
    assert "https://stickershop.line-scdn.net/stickershop/v1/sticker/1988/android/sticker.png" in page
    form = {**FORM, "messages-1-kind": "sticker", "messages-1-sticker": "789:10856"}
    assert _post(client, "/broadcasts/new", form, "/broadcasts/new").status_code == 302
    broadcast = _only_broadcast(app)
    assert json.loads(broadcast.messages)[1] == {"type": "sticker", "packageId": "789", "stickerId": "10856"}
    edit = client.get(f"/broadcasts/{broadcast.id}/edit").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="789:10856"', edit)


def test_a_sticker_outside_the_list_stays_when_the_draft_is_saved_again(app):
    messages = json.dumps([{"type": "sticker", "packageId": "6136", "stickerId": "10551376"}])
    with db(app) as session:
        broadcast = add_broadcast(session)
        broadcast.messages = messages
        broadcast_id = broadcast.id
    client = _client(app)
    edit = client.get(f"/broadcasts/{broadcast_id}/edit").get_data(as_text=True)
    assert 'value="6136:10551376"' in edit
    form = {**FORM, "messages-0-kind": "sticker", "messages-0-sticker": "6136:10551376"}
    assert _post(client, f"/broadcasts/{broadcast_id}/edit", form, "/broadcasts/new").status_code == 302
    assert json.loads(_only_broadcast(app).messages)[0]["stickerId"] == "10551376"


def test_a_sticker_message_without_a_pick_is_refused(app):
    form = {**FORM, "messages-0-kind": "sticker", "messages-0-text": ""}
    response = _post(_client(app), "/broadcasts/new", form, "/broadcasts/new")
    assert response.status_code == 400 and "Pick a sticker." in response.get_data(as_text=True)


def test_an_uploaded_image_is_sent_from_the_crm(app):
    app.config["PUBLIC_BASE_URL"] = "https://crm.example.com"
    client = _client(app)
    form = {
        **FORM,
        "messages-0-kind": "image",
        "messages-0-image": (io.BytesIO(image_bytes((800, 600), "PNG")), "sale.png"),
        "csrf_token": csrf_token(client, "/broadcasts/new"),
    }
    response = client.post("/broadcasts/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 302
    with db(app) as session:
        key = session.exec(select(UploadedImage.key)).one()
    [message] = json.loads(_only_broadcast(app).messages)
    assert message == {
        "type": "image",
        "originalContentUrl": f"https://crm.example.com/media/{key}.png",
        "previewImageUrl": f"https://crm.example.com/media/{key}/preview.png",
    }


def test_a_file_that_is_not_an_image_is_refused_on_its_slot(app):
    client = _client(app)
    form = {
        **FORM,
        "messages-0-kind": "image",
        "messages-0-image": (io.BytesIO(b"not an image"), "notes.txt"),
        "csrf_token": csrf_token(client, "/broadcasts/new"),
    }
    response = client.post("/broadcasts/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    slot = page[page.index('name="messages-0-image"') :].split("</label>")[1]
    assert "Only JPEG and PNG images can be used" in slot.split("<label")[0]
    with db(app) as session:
        assert session.exec(select(Broadcast)).first() is None
