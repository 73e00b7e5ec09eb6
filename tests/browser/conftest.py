"""Browser tests: Debian's Chromium driven by Playwright (no browser download).

They check what pages show and do in a browser, at desktop and phone width. The queries behind every page run
on SQLite and PostgreSQL in each feature's own tests, so the PostgreSQL pass leaves the browser out."""

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.db_agnostic)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def console_url(crm_server):
    """The CRM served over HTTP with the simulator posting webhooks to it."""
    return crm_server.url
