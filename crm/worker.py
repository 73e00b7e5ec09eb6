"""The worker process: the one place APScheduler runs (never inside gunicorn workers)."""

from __future__ import annotations

import logging
import signal

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.schedulers.blocking import BlockingScheduler

from crm import create_app
from crm.broadcasts.delivery.jobs import delivery_tick
from crm.broadcasts.delivery.schedule import DeliverySettings
from crm.db import get_engine
from crm.friends.jobs import fetch_due_profiles
from crm.imports.jobs import import_followers
from crm.line.runtime import line_client
from crm.outbound.jobs import deliver_webhooks, forward_relay, link_click_events
from crm.richmenus.jobs import apply_rich_menu_relinks
from crm.tracking.redirect import click_actions_tick

log = logging.getLogger("crm.worker")


def build_scheduler(app) -> BlockingScheduler:
    """Create the scheduler with every periodic job of the worker."""
    scheduler = BlockingScheduler(timezone="UTC")
    engine = get_engine(app)

    def profiles_tick():
        fetch_due_profiles(engine, line_client(app), max_attempts=app.config["PROFILE_FETCH_MAX_ATTEMPTS"])

    def relinks_tick():
        apply_rich_menu_relinks(engine, line_client(app))

    def click_actions():
        click_actions_tick(engine)

    scheduler.add_job(profiles_tick, "interval", seconds=2, id="profiles", max_instances=1, coalesce=True)
    scheduler.add_job(relinks_tick, "interval", seconds=2, id="richmenu_relinks", max_instances=1, coalesce=True)
    scheduler.add_job(click_actions, "interval", seconds=2, id="click_actions", max_instances=1, coalesce=True)
    delivery_settings = DeliverySettings.from_config(app.config)

    def deliveries():
        delivery_tick(engine, line_client(app), settings=delivery_settings)

    scheduler.add_job(deliveries, "interval", seconds=1, id="delivery", max_instances=1, coalesce=True)
    add_webhook_jobs(scheduler, app, engine)
    logging.getLogger("apscheduler.scheduler").addFilter(_quiet_busy_delivery)
    return scheduler


def add_webhook_jobs(scheduler: BlockingScheduler, app, engine) -> None:
    """Outbound webhooks, the LINE webhook relay, link.clicked events and the followers import."""
    attempts, timeout = app.config["WEBHOOK_MAX_ATTEMPTS"], app.config["WEBHOOK_TIMEOUT_SECONDS"]

    def webhooks_tick():
        link_click_events(engine)
        deliver_webhooks(engine, max_attempts=attempts, timeout=timeout)
        if app.config.get("LINE_WEBHOOK_RELAY_URL"):
            forward_relay(engine, url=app.config["LINE_WEBHOOK_RELAY_URL"], max_attempts=attempts, timeout=timeout)

    def followers_tick():
        import_followers(engine, line_client(app))

    scheduler.add_job(webhooks_tick, "interval", seconds=2, id="webhooks", max_instances=1, coalesce=True)
    scheduler.add_job(followers_tick, "interval", seconds=2, id="followers_import", max_instances=1, coalesce=True)


def _quiet_busy_delivery(record: logging.LogRecord) -> bool:
    """A delivery tick runs until nothing is due: its skipped runs are expected, not worth a warning each second."""
    return not ("deliveries" in record.getMessage() and "maximum number of running instances" in record.getMessage())


def main() -> None:
    """Start the worker and run until interrupted."""
    app = create_app()
    scheduler = build_scheduler(app)

    def stop(signum, _frame):
        log.info("worker stopping signal=%s", signum)
        if scheduler.running:
            scheduler.shutdown(wait=False)

    def started(_event):
        log.info("worker started jobs=%s", [job.id for job in scheduler.get_jobs()])

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    scheduler.add_listener(started, EVENT_SCHEDULER_STARTED)
    scheduler.start()
    log.info("worker stopped")


if __name__ == "__main__":
    main()
