"""POST /callback: LINE's webhook, event dispatch, and the registries features plug into."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register /callback (answered by a WSGI layer in front of Flask; the view, exempt from CSRF: LINE signs its
    body, serves what the layer passes on), the empty postback and hook registries, the erasure of stored and
    failed events and of queued replies, the admins' page of failed events, the payload retention job and the sweep of
    events acknowledged but left waiting (queued handling)."""
    from crm.extensions import csrf
    from crm.jobs import register_jobs
    from crm.privacy import service as privacy
    from crm.sending import queue as reply_queue
    from crm.webhook import consumer, event_store, failure_views, failures, jobs, layer, views
    from crm.webhook.hooks import event_hooks
    from crm.webhook.postbacks import postback_registry

    postback_registry(app)
    event_hooks(app)
    privacy.on_erase(event_store.webhook_events)
    privacy.on_erase(failures.failed_webhook_events)
    privacy.on_erase(reply_queue.erase_friend)
    app.register_blueprint(views.bp)
    csrf.exempt(views.bp)
    app.wsgi_app = layer.CallbackLayer(app.wsgi_app, app)
    app.register_blueprint(failure_views.bp)
    register_jobs(app, jobs.JOBS)
    register_jobs(app, consumer.JOBS)
