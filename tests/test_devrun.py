"""`make run`'s launcher: migrates, starts the CRM, worker and simulator wired together, and stops on Ctrl-C."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.db_agnostic  # the launcher always runs on its own SQLite file


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> requests.Response:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return requests.get(url, timeout=5)
        except (requests.ConnectionError, requests.Timeout):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _route_goes_to_the_simulators_line_login(tmp_path, crm_port: int, sim_port: int) -> None:
    """An inflow route's URL leads to the simulator's LINE Login, whose authorize page accepts the CRM's request."""
    engine = create_engine(f"sqlite:///{tmp_path}/dev.sqlite3")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO inflow_route (name, code, actions, action_timing, run_welcome_scenarios, created_at,"
                " updated_at) VALUES ('デモ', 'demo-route', '[]', 'first_add', 1, '2026-12-07 00:00:00',"
                " '2026-12-07 00:00:00')"
            )
        )
    engine.dispose()
    phone = {"User-Agent": "Mozilla/5.0 (iPhone) Line/14.1.0"}
    route = requests.get(f"http://127.0.0.1:{crm_port}/i/demo-route", headers=phone, allow_redirects=False, timeout=5)
    assert route.headers["Location"].startswith(f"http://127.0.0.1:{sim_port}/oauth2/v2.1/authorize?")
    assert requests.get(route.headers["Location"], timeout=5).status_code == 200


def test_devrun_serves_everything_wired_together(tmp_path):
    crm_port, sim_port = free_port(), free_port()
    env = dict(
        os.environ, CRM_PORT=str(crm_port), SIM_PORT=str(sim_port), DATABASE_URL=f"sqlite:///{tmp_path}/dev.sqlite3"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "crm.devrun"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert wait_for(f"http://127.0.0.1:{crm_port}/healthz").json()["database"] == "ok"
        assert wait_for(f"http://127.0.0.1:{sim_port}/").status_code == 200
        sim = f"http://127.0.0.1:{sim_port}/_sim"
        user = requests.post(f"{sim}/users", json={"displayName": "デモ太郎"}, timeout=5).json()["userId"]
        followed = requests.post(f"{sim}/users/{user}/follow", json={}, timeout=10).json()
        assert followed["status"] == 200
        login_page = requests.get(f"http://127.0.0.1:{crm_port}/login", timeout=5)
        assert login_page.status_code == 200
        _route_goes_to_the_simulators_line_login(tmp_path, crm_port, sim_port)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, (process.returncode, output[-3000:])
    assert re.search(r"Demo admin:\s+admin@example.com / \S+", output)
    assert f"http://127.0.0.1:{sim_port}/" in output
