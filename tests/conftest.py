"""Test fixtures: a fresh migrated database per test (SQLite, or PostgreSQL with CRM_TEST_DB=postgresql),
the CRM and the LINE simulator as real HTTP servers."""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import create_engine, text
from sqlmodel import Session
from werkzeug.serving import make_server

from crm import create_app, migrate
from crm.config import testing_config
from crm.db import get_engine
from crm.sending.replies import reply_sender
from crm.staff import service as staff_service
from crm.webhook.consumer import event_consumer
from tests import lazy_api_docs, route_builders, template_cache

TEST_DB = os.environ.get("CRM_TEST_DB", "sqlite")
CHEAP_HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)
PRODUCTION_HASHER = staff_service.HASHER


def pytest_configure(config):
    route_builders.install()
    lazy_api_docs.install()
    config.addinivalue_line(
        "markers", "real_hasher: hashes passwords with the production argon2 settings, not the tests' cheap ones"
    )


def pytest_collection_modifyitems(config, items):
    """The SQLite pass leaves out the tests marked postgresql_only (several processes sharing one database)."""
    if TEST_DB == "postgresql":
        return
    left_out = [item for item in items if item.get_closest_marker("postgresql_only")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item.get_closest_marker("postgresql_only") is None]


def pytest_report_header(config):
    return f"CRM test database: {TEST_DB}"


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hasher():
    """Hash passwords with argon2's cheapest settings (the defaults cost ~0.2 s per hash and per sign-in), for
    the whole session: module fixtures that sign staff in (the permission matrix's) included."""
    staff_service.HASHER = CHEAP_HASHER
    yield
    staff_service.HASHER = PRODUCTION_HASHER


@pytest.fixture(autouse=True)
def production_hasher_when_marked(request, monkeypatch):
    """Tests of hashing itself keep the production hasher with @pytest.mark.real_hasher."""
    if request.node.get_closest_marker("real_hasher") is not None:
        monkeypatch.setattr(staff_service, "HASHER", PRODUCTION_HASHER)


@pytest.fixture(scope="session")
def template_database(tmp_path_factory):
    """A migrated database that each test copies."""
    if TEST_DB == "postgresql":
        from tests.pg_cluster import DatabaseSupply, start_cluster

        cluster = start_cluster()
        cluster.create_database("crm_template")
        migrate.upgrade(cluster.url("crm_template"))
        switch_greeting(cluster.url("crm_template"), on=False)
        supply = DatabaseSupply(cluster, "crm_template")
        yield supply
        supply.close()
        cluster.stop()
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        migrate.upgrade(f"sqlite:///{path}")
        switch_greeting(f"sqlite:///{path}", on=False)
        yield path


def switch_greeting(database_url: str, *, on: bool) -> None:
    """Turn the ready-made greeting scenario on or off (tests start with it off: no follow greets by surprise)."""
    engine = create_engine(database_url)
    with engine.begin() as connection:
        status = "active" if on else "paused"
        connection.execute(text("UPDATE scenario SET status = :status WHERE is_greeting"), {"status": status})
    engine.dispose()


@pytest.fixture
def greeting(database_url):
    """The greeting scenario switched on, as a new account has it."""
    switch_greeting(database_url, on=True)


@pytest.fixture
def database_url(template_database, tmp_path):
    """A fresh database with every migration applied."""
    if TEST_DB == "postgresql":
        name, url = template_database.take()
        yield url
        template_database.give_back(name)
    else:
        path = tmp_path / "crm.sqlite3"
        shutil.copy(template_database, path)
        yield f"sqlite:///{path}"


class LiveServer:
    """A WSGI app served over real HTTP on a free loopback port, in a thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def simulator():
    """The LINE simulator as a real HTTP server for the whole session."""
    from linesim import create_app as create_simulator

    server = LiveServer(create_simulator({}))
    yield server
    server.stop()


@pytest.fixture
def sim(simulator):
    """A client of the simulator's control API, reset for this test."""
    from linesim.client import SimulatorClient

    client = SimulatorClient(simulator.url)
    client.reset()
    return client


@pytest.fixture
def make_app(database_url, request):
    """Build CRM apps wired to this test's database and the simulator."""
    apps = []

    def factory(**overrides):
        if "LINE_API_BASE" not in overrides:
            overrides["LINE_API_BASE"] = request.getfixturevalue("simulator").url
        overrides.setdefault("CONTENT_CACHE_DIR", str(request.getfixturevalue("tmp_path") / "media-cache"))
        if "webhook_handling" in request.fixturenames:
            overrides.setdefault("WEBHOOK_HANDLING", request.getfixturevalue("webhook_handling"))
        app = create_app(testing_config(database_url, **overrides))
        template_cache.use_shared_cache(app)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        event_consumer(app).wait_idle()
        # A reply sender still draining holds a connection the pool cannot close: let it finish first, or the
        # connection outlives this test's database and its ResourceWarning fails a later test.
        reply_sender(app).wait_idle()
        if cache := app.extensions.get("crm.content_cache"):
            cache.close()
        get_engine(app).dispose()


@pytest.fixture(params=["inline", "queued"])
def webhook_handling(request):
    """Run the test with both ways of handling webhooks: acted on before /callback answers, or stored, answered,
    then acted on by the consumer (`tests.signing.post_signed` waits for it)."""
    return request.param


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def crm_server(app, sim):
    """The CRM served over HTTP, with the simulator posting its webhooks to it."""
    server = LiveServer(handled_before_answering(app))
    sim.configure(webhookUrl=f"{server.url}/callback")
    yield server
    server.stop()


def handled_before_answering(app):
    """With queued handling, the app as the simulator's webhook target: /callback's answer reaches the simulator
    once the consumer has handled what it stored, so a test goes on as after an inline webhook."""
    if app.config["WEBHOOK_HANDLING"] != "queued":
        return app

    def wsgi(environ, start_response):
        answer = app(environ, start_response)
        if environ.get("PATH_INFO") == "/callback":
            event_consumer(app).wait_idle()
        return answer

    return wsgi


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    """A session on the test's database, closed after the test. Commit what you set up before the app reads it;
    call session.expire_all() before reading rows the app has changed since this session loaded them."""
    with Session(get_engine(app)) as session:
        yield session
