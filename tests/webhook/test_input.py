"""Bad input to /callback gets a clear 4xx and stores nothing."""

import json

import pytest
from sqlmodel import Session, func, select

from crm.db import get_engine
from crm.friends.models import Friend
from crm.webhook.models import WebhookEvent
from tests.signing import post_signed, sign

FOLLOW = {
    "type": "follow",
    "mode": "active",
    "timestamp": 1_700_000_000_000,
    "source": {"type": "user", "userId": "U" + "a" * 32},
    "webhookEventId": "01HZZZZZZZZZZZZZZZZZZZZZZZ",
    "deliveryContext": {"isRedelivery": False},
    "replyToken": "r" * 32,
    "follow": {"isUnblocked": False},
}


def stored_counts(app):
    with Session(get_engine(app)) as session:
        return (
            session.exec(select(func.count()).select_from(WebhookEvent)).one(),
            session.exec(select(func.count()).select_from(Friend)).one(),
        )


def body_of(*events):
    return json.dumps({"destination": "U" + "0" * 32, "events": list(events)}).encode()


def test_valid_signature_is_accepted_and_stored(app, client):
    response = post_signed(client, body_of(FOLLOW))
    assert response.status_code == 200
    assert stored_counts(app) == (1, 1)


@pytest.mark.parametrize("signature", [None, "", "not-base64!!", sign(b"other body")])
def test_missing_or_wrong_signature_is_400_and_stores_nothing(app, client, signature):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Line-Signature"] = signature
    response = client.post("/callback", data=body_of(FOLLOW), headers=headers)
    assert response.status_code == 400
    assert stored_counts(app) == (0, 0)


def test_signature_made_with_another_secret_is_rejected(app, client):
    response = post_signed(client, body_of(FOLLOW), secret="someone-elses-secret")
    assert response.status_code == 400
    assert stored_counts(app) == (0, 0)


def test_header_name_is_case_insensitive(app, client):
    body = body_of(FOLLOW)
    response = client.post("/callback", data=body, headers={"x-line-signature": sign(body)})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        b'{"events": "nope"}',
        b'{"events": [1, 2]}',
        b'{"destination": "x"}',
        "\udcff".encode("utf-8", "surrogatepass"),
    ],
)
def test_malformed_bodies_are_400(app, client, body):
    response = post_signed(client, body)
    assert response.status_code == 400
    assert response.is_json and response.json["error"]
    assert stored_counts(app) == (0, 0)


def test_body_over_two_megabytes_is_413(app, client):
    padding = "x" * (2 * 1024 * 1024)
    body = json.dumps({"destination": padding, "events": [FOLLOW]}).encode()
    response = post_signed(client, body)
    assert response.status_code == 413
    assert stored_counts(app) == (0, 0)


def test_empty_events_is_a_connectivity_check(app, client):
    response = post_signed(client, body_of())
    assert response.status_code == 200
    assert stored_counts(app) == (0, 0)


def test_raw_body_is_verified_not_a_reserialisation(app, client):
    """LINE may escape characters such as emoji; the signature covers the exact bytes."""
    text = json.dumps({"destination": "U" + "0" * 32, "events": [dict(FOLLOW)]}, ensure_ascii=True)
    body = text.replace('"follow"', '"\\u0066ollow"', 1).encode()
    response = post_signed(client, body)
    assert response.status_code == 200
    assert stored_counts(app) == (1, 1)


def test_event_with_strange_field_types_does_not_crash(app, client):
    odd = dict(FOLLOW, webhookEventId=123, timestamp="yesterday", source="user")
    response = post_signed(client, body_of(odd))
    assert response.status_code == 200
    assert stored_counts(app) == (1, 0)
