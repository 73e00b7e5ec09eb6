"""The worker process: the one place APScheduler runs (never inside gunicorn workers)."""

from __future__ import annotations

import logging
import signal

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.schedulers.blocking import BlockingScheduler

from crm import create_app
from crm.db import get_engine
from crm.jobs import Job, registered_jobs, run_alone
from crm.line.runtime import line_client

log = logging.getLogger("crm.worker")
LOOPING_JOBS = ("delivery", "profiles")  # ticks that run until nothing is due, so their next runs are often skipped


def build_scheduler(app) -> BlockingScheduler:
    """Create the scheduler with the jobs every feature registered (one run of each at a time)."""
    scheduler = BlockingScheduler(timezone="UTC")
    engine = get_engine(app)
    for job in registered_jobs(app):
        scheduler.add_job(
            _runner(job, app, engine),
            "interval",
            seconds=job.seconds,
            id=job.id,
            name=job.id,
            max_instances=1,
            coalesce=True,
        )
    logging.getLogger("apscheduler.scheduler").addFilter(_quiet_busy_loops)
    return scheduler


def _runner(job: Job, app, engine):
    """The job's tick with this worker's app, engine and LINE client; an exclusive job's tick is skipped while
    another worker runs it."""

    def run():
        job.tick(app, engine, line_client(app))

    def run_exclusive():
        with run_alone(engine, job.id) as alone:
            if alone:
                run()
            else:
                log.debug("job_skipped id=%s reason=running_in_another_worker", job.id)

    return run_exclusive if job.exclusive else run


def _quiet_busy_loops(record: logging.LogRecord) -> bool:
    """A looping tick runs until nothing is due: its skipped runs are expected, not worth a warning each second."""
    message = record.getMessage()
    busy = "maximum number of running instances" in message
    return not (busy and any(f'"{job_id} ' in message for job_id in LOOPING_JOBS))


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
