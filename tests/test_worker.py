"""The worker process exists, starts its scheduler, and stops cleanly; exclusive jobs run in one worker at a time."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from crm.jobs import Job, register_jobs, registered_jobs
from crm.worker import build_scheduler
from tests.conftest import TEST_DB


def test_scheduler_has_the_profile_job(app):
    scheduler = build_scheduler(app)
    assert [job.id for job in scheduler.get_jobs()] == [
        "webhook_payload_retention",
        "webhook_sweep",
        "profiles",
        "replies",
        "actions",
        "scenarios",
        "richmenu_relinks",
        "click_actions",
        "delivery",
        "rfm_scores",
        "webhooks",
        "relay",
        "relay_prune",
        "followers_import",
    ]


def test_jobs_that_must_not_run_in_two_workers_at_once_are_exclusive(app):
    assert [job.id for job in registered_jobs(app) if job.exclusive] == [
        "webhook_payload_retention",
        "richmenu_relinks",
        "relay",
        "relay_prune",
    ]


def test_worker_process_starts_and_stops_on_sigint(database_url, simulator):
    env = dict(os.environ, CRM_ENV="development", DATABASE_URL=database_url, LINE_API_BASE=simulator.url)
    process = subprocess.Popen(
        [sys.executable, "-m", "crm.worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        started = time.monotonic()
        line = ""
        while "worker started" not in line and time.monotonic() - started < 30:
            line = process.stdout.readline()
        assert "worker started" in line
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0, process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


@pytest.mark.skipif(TEST_DB != "postgresql", reason="workers on several machines share a PostgreSQL database only")
def test_an_exclusive_job_runs_in_one_worker_at_a_time_while_others_run_everywhere(make_app):
    entered, release, ran = threading.Event(), threading.Event(), []

    def held(app, _engine, _line):
        ran.append(("held", app))
        entered.set()
        release.wait(30)

    def everywhere(app, _engine, _line):
        ran.append(("everywhere", app))

    first, second = make_app(), make_app()  # two worker processes: an engine each
    for app in (first, second):
        register_jobs(app, [Job("held", 1, held, exclusive=True), Job("everywhere", 1, everywhere)])
    first_jobs, second_jobs = build_scheduler(first), build_scheduler(second)
    running = threading.Thread(target=first_jobs.get_job("held").func)
    running.start()
    try:
        assert entered.wait(30)
        second_jobs.get_job("held").func()  # skipped: the first worker runs it
        second_jobs.get_job("everywhere").func()
        assert ran == [("held", first), ("everywhere", second)]
    finally:
        release.set()
        running.join(30)
    second_jobs.get_job("held").func()  # the first run ended: its lock is free
    assert ran[-1] == ("held", second)
