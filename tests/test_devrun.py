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
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, (process.returncode, output[-3000:])
    assert re.search(r"Demo admin:\s+admin@example.com / \S+", output)
    assert f"http://127.0.0.1:{sim_port}/" in output
