"""The broadcast console pages: composer, validation errors, CSRF, permissions, Asia/Tokyo times, actions."""

import json
import re
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from crm.broadcasts import models
from crm.broadcasts.models import Broadcast, RecipientState
from crm.broadcasts.models import BroadcastStatus as S
from crm.segments import service as segments
from crm.staff.models import Staff
from tests.broadcasts.helpers import T0, add_broadcast, add_friends, add_recipients, db
from tests.console_helpers import csrf_token, signed_in_client

FORM = {
    "name": "Spring sale",
    "purpose": "Tell everyone",
    "messages-0-kind": "text",
    "messages-0-text": "Hello {name}",
    "segment": "",
    "track_links": "y",
    "control_percent": "10",
    "cap_count": "",
    "cap_days": "",
    "goal_kind": "",
    "goal_days": "7",
}


def _client(app, role="marketer", email=None):
    return signed_in_client(app, role, email=email, locale="en")


def _post(client, path, data, page="/broadcasts"):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})


def _staff_id(app, email):
    with db(app) as session:
        return session.exec(select(Staff.id).where(Staff.email == email)).one()


def _only_broadcast(app) -> Broadcast:
    with db(app) as session:
        broadcast = session.exec(select(Broadcast)).one()
        session.expunge(broadcast)
        return broadcast


def test_compose_a_draft(app):
    with db(app) as session:
        add_friends(session, 3)
    client = _client(app)
    assert "Message 5" in client.get("/broadcasts/new").get_data(as_text=True)
    response = _post(client, "/broadcasts/new", FORM, "/broadcasts/new")
    assert response.status_code == 302
    broadcast = _only_broadcast(app)
    assert (broadcast.name, broadcast.status, broadcast.control_percent) == ("Spring sale", S.DRAFT, 10)
    assert json.loads(broadcast.messages) == [{"type": "text", "text": "Hello {name}"}]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Spring sale" in page and "Hello {name}" in page and "Send or schedule" in page


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"messages-0-kind": ""}, "between 1 and 5"),
        ({"messages-0-kind": "image", "messages-0-image_url": "http://insecure.example/a.png"}, "https"),
        ({"messages-0-kind": "flex", "messages-0-alt_text": "x", "messages-0-flex": "{not json"}, "not valid JSON"),
        ({"control_percent": "60"}, "Number must be between 0 and 50"),
        ({"cap_count": "3"}, "or neither"),
        ({"name": ""}, "This field is required"),
        ({"goal_kind": "tag", "goal_tag": "999"}, "does not exist"),
    ],
)
def test_bad_input_shows_the_error_and_saves_nothing(app, changes, expected):
    client = _client(app)
    response = _post(client, "/broadcasts/new", {**FORM, **changes}, "/broadcasts/new")
    assert response.status_code == 400
    assert expected in response.get_data(as_text=True)
    with db(app) as session:
        assert session.exec(select(Broadcast)).all() == []


def test_post_without_csrf_token_is_refused(app):
    client = _client(app)
    assert client.post("/broadcasts/new", data=FORM).status_code == 400
    with db(app) as session:
        assert session.exec(select(Broadcast)).all() == []


@pytest.mark.parametrize(
    "role, codes",
    [("analyst", (200, 403, 200)), ("editor", (403, 403, 403)), ("staff", (403, 403, 403)), ("admin", (200, 200, 200))],
)
def test_who_may_open_what(app, role, codes):
    with db(app) as session:
        broadcast = add_broadcast(session, status=S.SENT)
    client = _client(app, role)
    got = (
        client.get("/broadcasts").status_code,
        client.get("/broadcasts/new").status_code,
        client.get(f"/broadcasts/{broadcast.id}/stats").status_code,
    )
    assert got == codes


def test_live_count_of_a_saved_segment_and_of_everyone(app):
    with db(app) as session:
        ids = add_friends(session, 4)
        segment = segments.create_segment(
            session,
            actor=_actor(session),
            name="Early",
            tree={"type": "any", "conditions": [{"type": "status", "value": "following"}]},
        )
        segment_id = segment.id
    client = _client(app)
    assert client.get("/broadcasts/count").get_json() == {"count": len(ids)}
    assert client.get(f"/broadcasts/count?segment={segment_id}").get_json() == {"count": 4}
    assert client.get("/broadcasts/count?segment=abc").status_code == 400
    assert client.get("/broadcasts/count?segment=999").status_code == 404


def _actor(session):
    from crm.staff.audit import Actor

    return Actor.system("test")


def _draft(app, client, **changes):
    assert _post(client, "/broadcasts/new", {**FORM, **changes}, "/broadcasts/new").status_code == 302
    return _only_broadcast(app)


def test_schedule_in_tokyo_time_is_stored_in_utc_and_shown_in_tokyo(app):
    with db(app) as session:
        add_friends(session, 2)
    client = _client(app)
    broadcast = _draft(app, client)
    confirm = client.get(f"/broadcasts/{broadcast.id}/confirm").get_data(as_text=True)
    assert 'data-count="2"' in confirm and "cannot be recalled" in confirm
    data = {"when": "later", "at": "2030-01-01T10:00", "confirm": "y"}
    response = _post(client, f"/broadcasts/{broadcast.id}/schedule", data, f"/broadcasts/{broadcast.id}/confirm")
    assert response.status_code == 302
    stored = _only_broadcast(app)
    assert (stored.status, stored.scheduled_at) == (S.SCHEDULED, datetime(2030, 1, 1, 1, 0, tzinfo=UTC))
    assert "2030/01/01 10:00" in client.get("/broadcasts").get_data(as_text=True)
    assert "2030/01/01 10:00" in client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"when": "now"}, "Tick the box"),
        ({"when": "later", "at": "", "confirm": "y"}, "Enter the date and time"),
        ({"when": "later", "at": "2001-01-01T10:00", "confirm": "y"}, "in the future"),
    ],
)
def test_schedule_errors(app, data, expected):
    with db(app) as session:
        add_friends(session, 1)
    client = _client(app)
    broadcast = _draft(app, client)
    response = _post(client, f"/broadcasts/{broadcast.id}/schedule", data, f"/broadcasts/{broadcast.id}/confirm")
    assert response.status_code == 400 and expected in response.get_data(as_text=True)
    assert _only_broadcast(app).status == S.DRAFT


def test_above_the_threshold_a_second_marketer_approves(make_app):
    app = make_app(BROADCAST_APPROVAL_THRESHOLD=1)
    with db(app) as session:
        add_friends(session, 2)
    creator = _client(app, "marketer", "creator@example.com")
    broadcast = _draft(app, creator)
    _post(creator, f"/broadcasts/{broadcast.id}/schedule", {"when": "now", "confirm": "y"})
    assert _only_broadcast(app).status == S.AWAITING_APPROVAL
    page = creator.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert "second marketer or admin must approve" in page
    refused = _post(creator, f"/broadcasts/{broadcast.id}/approve", {})
    assert "second person" in creator.get(refused.headers["Location"]).get_data(as_text=True)
    assert _only_broadcast(app).status == S.AWAITING_APPROVAL
    second = _client(app, "marketer", "second@example.com")
    _post(second, f"/broadcasts/{broadcast.id}/approve", {})
    stored = _only_broadcast(app)
    assert (stored.status, stored.approved_by) == (S.SCHEDULED, _staff_id(app, "second@example.com"))


def test_cancel_and_a_refused_cancel(app):
    with db(app) as session:
        scheduled = add_broadcast(session, status=S.SCHEDULED, name="Later")
        sending = add_broadcast(session, status=S.SENDING, name="Now")
    client = _client(app)
    _post(client, f"/broadcasts/{scheduled.id}/cancel", {})
    response = _post(client, f"/broadcasts/{sending.id}/cancel", {})
    assert "no longer be cancelled" in client.get(response.headers["Location"]).get_data(as_text=True)
    with db(app) as session:
        assert session.get(Broadcast, scheduled.id).status == S.CANCELLED
        assert session.get(Broadcast, sending.id).status == S.SENDING


def test_a_paused_broadcast_shows_why_and_resumes(app):
    with db(app) as session:
        paused = add_broadcast(session, status=S.PAUSED, pause_reason="LINE monthly message limit reached")
    client = _client(app)
    page = client.get(f"/broadcasts/{paused.id}").get_data(as_text=True)
    assert "Sending is paused." in page and "LINE monthly message limit reached" in page
    assert "Resume sending" in page
    _post(client, f"/broadcasts/{paused.id}/resume", {})
    with db(app) as session:
        assert session.get(Broadcast, paused.id).status == S.SENDING


def test_statistics_page_for_an_analyst(app):
    with db(app) as session:
        ids = add_friends(session, 4)
        broadcast = add_broadcast(session, status=S.SENDING, started_at=T0)
        add_recipients(session, broadcast.id, ids[:2], RecipientState.SENT, sent_at=T0)
        add_recipients(session, broadcast.id, ids[2:3], RecipientState.HELD_OUT)
        add_recipients(session, broadcast.id, ids[3:], RecipientState.FAILED, error="Invalid user")
    page = _client(app, "analyst").get(f"/broadcasts/{broadcast.id}/stats").get_data(as_text=True)
    figures = dict(re.findall(r'data-figure="(\w+)"><span class="value">([^<]+)<', page))
    assert figures == {
        "recipients": "4",
        "held_out": "1",
        "capped": "0",
        "queued": "0",
        "sent": "2",
        "failed": "1",
        "clicks": "0",
        "unique_clickers": "0",
        "click_rate": "0.0%",
        "blocks_7d": "0",
    }
    assert "Invalid user" in page and "refreshes every 5 seconds" in page
    assert "open rate" in page  # only in the sentence explaining why there is none
    assert "Resume" not in page


def test_test_friends_and_preview_as_a_friend(app):
    with db(app) as session:
        friend_id = add_friends(session, 1)[0]
    client = _client(app)
    assert "No friend has this ID" in _post(
        client, "/broadcasts/test-friends", {"friend_id": "999"}, "/broadcasts/test-friends"
    ).get_data(as_text=True)
    assert (
        _post(
            client,
            "/broadcasts/test-friends",
            {"friend_id": str(friend_id), "label": "My phone"},
            "/broadcasts/test-friends",
        ).status_code
        == 302
    )
    assert "My phone" in client.get("/broadcasts/test-friends").get_data(as_text=True)
    broadcast = _draft(app, client)
    preview = client.get(f"/broadcasts/{broadcast.id}/preview").get_data(as_text=True)
    assert "Hello Friend 0" in preview
    _post(client, f"/broadcasts/test-friends/{friend_id}/remove", {}, "/broadcasts/test-friends")
    with db(app) as session:
        assert session.exec(select(models.TestFriend)).all() == []


def test_the_friend_page_lists_the_broadcasts_a_friend_was_in(app):
    with db(app) as session:
        friend_id = add_friends(session, 1)[0]
        sent = add_broadcast(session, status=S.SENT, name="Got it", started_at=T0)
        held = add_broadcast(session, status=S.SENT, name="Held back", started_at=T0)
        add_recipients(session, sent.id, [friend_id], RecipientState.SENT, sent_at=T0)
        add_recipients(session, held.id, [friend_id], RecipientState.HELD_OUT)
    page = _client(app).get(f"/friends/{friend_id}").get_data(as_text=True)
    section = page[page.index('id="broadcasts"') :]
    assert "Got it" in section and "Received" in section and "2026/03/01 10:00" in section
    assert "Held back" in section and "Held out (control group)" in section


def test_a_monthly_limit_pause_is_explained(app):
    with db(app) as session:
        paused = add_broadcast(session, status=S.PAUSED, pause_reason="monthly_limit")
    page = _client(app).get(f"/broadcasts/{paused.id}/stats").get_data(as_text=True)
    assert "monthly message limit was reached" in page


def test_copy_a_cancelled_broadcast_as_a_new_draft(app):
    with db(app) as session:
        cancelled = add_broadcast(
            session,
            status=S.CANCELLED,
            name="Autumn",
            control_percent=5,
            segment_tree='{"conditions": [], "type": "all"}',
        )
    client = _client(app)
    response = _post(client, f"/broadcasts/{cancelled.id}/copy", {})
    assert response.status_code == 302 and response.headers["Location"].endswith("/edit")
    with db(app) as session:
        copy = session.exec(select(Broadcast).where(Broadcast.id != cancelled.id)).one()
        assert (copy.name, copy.status, copy.control_percent, copy.messages, copy.segment_tree) == (
            "Autumn (copy)",
            S.DRAFT,
            5,
            cancelled.messages,
            cancelled.segment_tree,
        )
    assert 'value="Autumn (copy)"' in client.get(response.headers["Location"]).get_data(as_text=True)
