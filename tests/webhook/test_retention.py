"""Payload retention: an unsent message leaves no text in the stored event, and old payloads are pruned while
the event ids stay for duplicate detection."""

from datetime import timedelta

from sqlmodel import Session, select

from crm.db import get_engine
from crm.jobs import registered_jobs
from crm.timeutil import utcnow
from crm.webhook import jobs as webhook_jobs
from crm.webhook.failures import record_failure, resolve
from crm.webhook.jobs import PRUNED_PAYLOAD, prune_payloads
from crm.webhook.models import FailedWebhookEvent, WebhookEvent
from tests.factories import friend_of
from tests.signing import event, post_signed, webhook_body

USER = "U" + "e" * 32


def text_message(text, message_id="468789577898262530"):
    return event(
        "message",
        USER,
        replyToken="r" * 32,
        message={"id": message_id, "type": "text", "text": text, "quoteToken": "q"},
    )


def stored(app):
    with Session(get_engine(app)) as session:
        return session.exec(select(WebhookEvent).order_by(WebhookEvent.id)).all()


def test_unsend_blanks_the_stored_payload_too(app, client):
    post_signed(client, webhook_body(text_message("秘密の住所は渋谷1-2-3")))
    post_signed(client, webhook_body(text_message("残る", message_id="2")))
    post_signed(client, webhook_body(event("unsend", USER, unsend={"messageId": "468789577898262530"})))
    payloads = [row.payload for row in stored(app)]
    assert not any("渋谷" in payload for payload in payloads)
    assert '"unsent": true' in payloads[0] and '"468789577898262530"' in payloads[0]
    assert "残る" in payloads[1]


def test_old_payloads_are_pruned_and_their_redelivery_is_still_a_duplicate(app, client):
    old = event("follow", USER, replyToken="r" * 32)
    post_signed(client, webhook_body(old, text_message("hello")))
    received = stored(app)[0].received_at
    assert prune_payloads(get_engine(app), now=received + timedelta(days=29), days=30) == 0
    assert prune_payloads(get_engine(app), now=received + timedelta(days=31), days=30) == 2
    rows = stored(app)
    assert [row.payload for row in rows] == [PRUNED_PAYLOAD, PRUNED_PAYLOAD]
    assert rows[0].webhook_event_id == old["webhookEventId"] and rows[0].event_type == "follow"
    post_signed(client, webhook_body(dict(old, deliveryContext={"isRedelivery": True})))
    assert friend_of(app, USER).follow_count == 1 and len(stored(app)) == 2
    assert prune_payloads(get_engine(app), now=received + timedelta(days=40), days=30) == 0


def test_pruning_goes_in_batches(app, client):
    post_signed(client, webhook_body(*[text_message(f"m{n}", message_id=str(n)) for n in range(5)]))
    later = utcnow() + timedelta(days=31)
    assert prune_payloads(get_engine(app), now=later, days=30, batch=2) == 5
    assert {row.payload for row in stored(app)} == {PRUNED_PAYLOAD}


def test_resolved_failures_are_dropped_after_the_retention_period_unresolved_kept(app):
    now = utcnow()
    with Session(get_engine(app)) as session:
        for key in ("done", "open"):
            record_failure(session, key=key, event={"type": "message"}, error=RuntimeError("x"), now=now)
        resolve(session, key="done", now=now)
        session.commit()
    prune_payloads(get_engine(app), now=now + timedelta(days=31), days=30)
    with Session(get_engine(app)) as session:
        assert [row.webhook_event_id for row in session.exec(select(FailedWebhookEvent))] == ["open"]


def test_the_retention_job_is_registered_and_zero_days_keeps_everything(make_app, monkeypatch):
    app = make_app(WEBHOOK_PAYLOAD_RETENTION_DAYS=0)
    assert "webhook_payload_retention" in [job.id for job in registered_jobs(app)]
    called = []
    monkeypatch.setattr(webhook_jobs, "prune_payloads", lambda *a, **kw: called.append(kw))
    webhook_jobs.retention_tick(app, get_engine(app), None)
    assert called == []
    app.config["WEBHOOK_PAYLOAD_RETENTION_DAYS"] = 30
    webhook_jobs.retention_tick(app, get_engine(app), None)
    assert called[0]["days"] == 30
