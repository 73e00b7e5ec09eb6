"""One bad event costs only itself: it is kept aside with its error, listed for admins and retried once fixed."""

import json

from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from crm.db import get_engine
from crm.friends.models import Friend
from crm.staff.models import AuditEntry
from crm.webhook.models import FailedWebhookEvent, WebhookEvent
from crm.webhook.views import REGISTRY_KEY
from tests.console_helpers import post_form, signed_in_client
from tests.factories import friend_of
from tests.signing import event, post_signed, webhook_body

USER = "U" + "c" * 32
OTHER = "U" + "d" * 32
FAILURES = "/settings/line-events/failed"


def rows(app, model):
    with Session(get_engine(app)) as session:
        return session.exec(select(model).order_by(model.id)).all()


def broken_postbacks(app):
    """A postback handler that fails until `fixed` is set, as a feature's bug would."""
    state = {"fixed": False, "handled": 0}

    def handler(_context):
        if not state["fixed"]:
            raise RuntimeError("survey step missing")
        state["handled"] += 1

    app.extensions[REGISTRY_KEY].register("broken:", handler)
    return state


def test_out_of_range_timestamp_does_not_cost_the_other_events(app, client):
    bad = event("follow", USER, timestamp=10**20, replyToken="r" * 32)
    good = event("follow", OTHER, replyToken="r" * 32)
    response = post_signed(client, webhook_body(bad, good))
    assert response.status_code == 200
    assert friend_of(app, OTHER).follow_count == 1
    assert friend_of(app, USER).follow_count == 1
    assert len(rows(app, WebhookEvent)) == 2


def test_failing_event_is_kept_aside_and_the_body_acknowledged(app, client):
    broken_postbacks(app)
    failing = event("postback", USER, replyToken="r" * 32, postback={"data": "broken:1"})
    after = event("follow", OTHER, replyToken="r" * 32)
    response = post_signed(client, webhook_body(failing, after))
    assert response.status_code == 200
    assert friend_of(app, OTHER).follow_count == 1
    assert [row.webhook_event_id for row in rows(app, WebhookEvent)] == [after["webhookEventId"]]
    (failure,) = rows(app, FailedWebhookEvent)
    assert failure.webhook_event_id == failing["webhookEventId"]
    assert failure.error_class == "RuntimeError" and failure.error_message == "survey step missing"
    assert json.loads(failure.payload)["postback"]["data"] == "broken:1"
    assert failure.attempts == 1 and failure.resolved_at is None


def test_redelivery_that_fails_again_updates_the_same_failure(app, client):
    broken_postbacks(app)
    failing = event("postback", USER, replyToken="r" * 32, postback={"data": "broken:1"})
    post_signed(client, webhook_body(failing))
    post_signed(client, webhook_body(dict(failing, deliveryContext={"isRedelivery": True})))
    (failure,) = rows(app, FailedWebhookEvent)
    assert failure.attempts == 2


def test_admin_sees_failures_in_japanese_and_retries_once(app, client):
    state = broken_postbacks(app)
    failing = event("postback", USER, replyToken="r" * 32, postback={"data": "broken:1"})
    post_signed(client, webhook_body(failing))
    admin = signed_in_client(app, "admin")
    page = admin.get(FAILURES, headers={"Accept-Language": "ja"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "処理できなかったLINEイベント" in html and "RuntimeError" in html and "survey step missing" in html
    failure_id = rows(app, FailedWebhookEvent)[0].id

    state["fixed"] = True
    retry = post_form(admin, f"{FAILURES}/{failure_id}/retry", {}, FAILURES)
    assert retry.status_code == 302
    again = post_form(admin, f"{FAILURES}/{failure_id}/retry", {}, FAILURES)
    assert again.status_code == 302
    assert state["handled"] == 1
    assert rows(app, FailedWebhookEvent)[0].resolved_at is not None
    assert [row.webhook_event_id for row in rows(app, WebhookEvent)] == [failing["webhookEventId"]]
    assert [entry.action for entry in rows(app, AuditEntry)].count("webhook_event.retried") == 2


def test_retry_after_line_redelivered_it_acts_once(app, client):
    state = broken_postbacks(app)
    failing = event("postback", USER, replyToken="r" * 32, postback={"data": "broken:1"})
    post_signed(client, webhook_body(failing))
    state["fixed"] = True
    post_signed(client, webhook_body(dict(failing, deliveryContext={"isRedelivery": True})))
    assert rows(app, FailedWebhookEvent)[0].resolved_at is not None
    admin = signed_in_client(app, "admin")
    post_form(admin, f"{FAILURES}/{rows(app, FailedWebhookEvent)[0].id}/retry", {}, FAILURES)
    assert state["handled"] == 1


def test_failures_page_is_for_admins_only_and_retry_needs_csrf(app, client):
    broken_postbacks(app)
    post_signed(client, webhook_body(event("postback", USER, postback={"data": "broken:1"})))
    failure_id = rows(app, FailedWebhookEvent)[0].id
    for role in ("marketer", "staff", "editor", "analyst"):
        assert signed_in_client(app, role).get(FAILURES).status_code == 403
    admin = signed_in_client(app, "admin")
    assert admin.post(f"{FAILURES}/{failure_id}/retry").status_code == 400
    assert rows(app, FailedWebhookEvent)[0].attempts == 1


def test_deeply_nested_json_is_a_clear_400(app, client):
    nested = "[" * 100_000 + "]" * 100_000
    body = ('{"destination": "x", "events": [{"type": "message", "deep": ' + nested + "}]}").encode()
    response = post_signed(client, body)
    assert response.status_code == 400
    assert response.json["error"] == "JSON nested too deeply"
    assert rows(app, WebhookEvent) == [] and rows(app, Friend) == []


def test_nesting_is_checked_after_the_signature(app, client):
    body = ("[" * 5000 + "]" * 5000).encode()
    response = client.post("/callback", data=body, headers={"X-Line-Signature": "bad"})
    assert response.status_code == 400
    assert response.json["error"] == "invalid signature"


def test_brackets_inside_strings_do_not_count_as_nesting(app, client):
    text = event("message", USER, replyToken="r" * 32, message={"id": "1", "type": "text", "text": "[{" * 500})
    assert post_signed(client, webhook_body(text)).status_code == 200
    assert len(rows(app, WebhookEvent)) == 1


def test_a_database_failure_asks_line_to_redeliver_and_the_redelivery_acts_once(app, client):
    state = {"locked": True, "handled": 0}

    def handler(_context):
        if state["locked"]:
            raise OperationalError("UPDATE friend", {}, Exception("database is locked"))
        state["handled"] += 1

    app.extensions[REGISTRY_KEY].register("locked:", handler)
    failing = event("postback", USER, replyToken="r" * 32, postback={"data": "locked:1"})
    after = event("follow", OTHER, replyToken="r" * 32)
    response = post_signed(client, webhook_body(failing, after))
    assert response.status_code == 500  # LINE redelivers the body
    assert friend_of(app, OTHER).follow_count == 1
    (failure,) = rows(app, FailedWebhookEvent)
    assert failure.error_class == "OperationalError" and failure.resolved_at is None

    state["locked"] = False
    redelivered = [dict(each, deliveryContext={"isRedelivery": True}) for each in (failing, after)]
    assert post_signed(client, webhook_body(*redelivered)).status_code == 200
    assert state["handled"] == 1
    assert friend_of(app, OTHER).follow_count == 1  # the follow stored the first time is not acted on again
    (failure,) = rows(app, FailedWebhookEvent)
    assert failure.resolved_at is not None
