"""POST /callback is answered by the WSGI layer in front of Flask: the same answers, headers and log lines as the
Flask view, development mode's refusal of other computers kept, and the proxies' scheme seen (HSTS)."""

import logging

import pytest

from crm.webhook.layer import CallbackLayer
from tests.signing import event, post_signed


def _layer_of(app) -> CallbackLayer:
    layer = app.wsgi_app
    while not isinstance(layer, CallbackLayer):
        layer = getattr(layer, "wsgi_app", None) or layer.app  # ProxyFix keeps the app it wraps in .app
    return layer


def test_callback_is_answered_without_the_flask_view(app, monkeypatch):
    monkeypatch.setattr(_layer_of(app), "wsgi_app", lambda *_args: pytest.fail("passed on to Flask"))
    response = post_signed(app.test_client(), {"destination": "U0", "events": [event("follow")]})
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_answer_carries_the_security_headers(app):
    response = post_signed(app.test_client(), {"destination": "U0", "events": []})
    assert response.headers["Content-Type"] == "application/json"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers


def test_https_behind_a_trusted_proxy_gets_hsts(make_app):
    app = make_app(TRUSTED_PROXY_COUNT=1)
    body = {"destination": "U0", "events": []}
    response = post_signed(app.test_client(), body, headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_rejection_is_logged_with_its_request_line(app, caplog):
    with caplog.at_level(logging.INFO, logger="crm"):
        response = app.test_client().post("/callback", data=b"{}", headers={"X-Line-Signature": "bad"})
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid signature"}
    assert "webhook_rejected status=400 reason=invalid signature" in caplog.text
    assert "request method=POST route=/callback status=400" in caplog.text


def test_success_logs_no_request_line(app, caplog):
    with caplog.at_level(logging.INFO, logger="crm"):
        post_signed(app.test_client(), {"destination": "U0", "events": []})
    assert "request method=POST" not in caplog.text


def test_development_mode_refuses_other_computers_at_the_callback(make_app):
    client = make_app(ENV="development").test_client()
    client.environ_base["REMOTE_ADDR"] = "192.168.1.20"
    response = post_signed(client, {"destination": "U0", "events": [event("follow")]})
    assert response.status_code == 403


def test_development_mode_answers_this_computer_at_the_callback(make_app):
    client = make_app(ENV="development").test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.1"
    assert post_signed(client, {"destination": "U0", "events": [event("follow")]}).status_code == 200
