"""The worker process exists, starts its scheduler, and stops cleanly."""

import os
import signal
import subprocess
import sys
import time

from crm.worker import build_scheduler


def test_scheduler_has_the_profile_job(app):
    scheduler = build_scheduler(app)
    assert [job.id for job in scheduler.get_jobs()] == [
        "webhook_payload_retention",
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
