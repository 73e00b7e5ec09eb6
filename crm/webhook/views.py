"""POST /callback: verify LINE's signature, then store and act on each event once: before answering (inline
handling), or after answering once every event is stored (queued handling, see crm.webhook.consumer)."""

from __future__ import annotations

import json
import logging
import re

from flask import Blueprint, Flask, current_app, jsonify, request
from linebot.v3 import SignatureValidator

from crm.db import get_engine, session_scope
from crm.outbound import relay
from crm.timeutil import utcnow
from crm.webhook.consumer import QUEUED, event_consumer
from crm.webhook.events import process_event, store_events
from crm.webhook.hooks import HOOKS_KEY
from crm.webhook.postbacks import REGISTRY_KEY

log = logging.getLogger(__name__)
bp = Blueprint("line_webhook", __name__)
# LINE's events nest a few levels (message > emojis/mention > items); far deeper is an attack on the parser.
MAX_JSON_DEPTH = 32
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def nested_too_deeply(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text opens more than limit arrays or objects inside each other (brackets inside
    strings do not count); checked before parsing, so the parser never recurses that deep."""
    if text.count("[") + text.count("{") <= limit:  # cannot be deeper than the brackets it holds
        return False
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif token in ("]", "}"):
            depth -= 1
    return False


def _reject(status: int, message: str) -> tuple[int, dict]:
    log.warning("webhook_rejected status=%s reason=%s", status, message)
    return status, {"error": message}


def receive(app: Flask, body: bytes, signature: str | None) -> tuple[int, dict]:
    """Check a webhook body read up to WEBHOOK_MAX_BYTES + 1 bytes, then store and act on each event; return the
    status and the JSON answer. Every event is committed before this returns, so a 200 means durably stored (and,
    with inline handling, acted on)."""
    if len(body) > app.config["WEBHOOK_MAX_BYTES"]:
        return _reject(413, "body too large")
    if not signature:
        return _reject(400, "missing X-Line-Signature")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _reject(400, "body is not UTF-8")
    if not SignatureValidator(app.config["LINE_CHANNEL_SECRET"]).validate(text, signature):
        return _reject(400, "invalid signature")
    if nested_too_deeply(text):
        return _reject(400, "JSON nested too deeply")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        return _reject(400, "malformed JSON")
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        return _reject(400, "body must be an object with an events array")
    engine = get_engine(app)
    if app.config.get("LINE_WEBHOOK_RELAY_URL"):
        with session_scope(engine) as session:  # stored before acting, forwarded by the worker
            relay.enqueue(session, body=body, signature=signature, now=utcnow())
    if app.config["WEBHOOK_HANDLING"] == QUEUED:
        return _store_for_consumer(app, engine, events)
    registry, hooks = app.extensions[REGISTRY_KEY], app.extensions.get(HOOKS_KEY)
    outcomes = [process_event(engine, event, registry, hooks) for event in events]
    if "transient" in outcomes:
        # The others are stored, so LINE's redelivery of this body acts only on what the database refused.
        return _reject(500, "temporary database failure; please redeliver")
    return 200, {"status": "ok"}


def _store_for_consumer(app: Flask, engine, events: list[dict]) -> tuple[int, dict]:
    """Queued handling: commit the events, wake this process's consumer, then acknowledge."""
    try:
        store_events(engine, events)
    except Exception:  # noqa: BLE001 - nothing of the body is stored (the database's or the driver's error)
        log.exception("webhook_store_failed")
        return _reject(500, "temporary database failure; please redeliver")
    event_consumer(app).wake()
    return 200, {"status": "ok"}


@bp.post("/callback")
def callback():
    """Receive a LINE webhook (requests the CallbackLayer passes on: development mode's refusals)."""
    limit = current_app.config["WEBHOOK_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        status, answer = _reject(413, "body too large")
    else:
        app = current_app._get_current_object()
        status, answer = receive(app, request.stream.read(limit + 1), request.headers.get("X-Line-Signature"))
    return jsonify(answer), status
