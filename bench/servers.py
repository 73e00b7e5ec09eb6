"""Processes the benchmarks start: gunicorn on a free loopback port, and fresh SQLite/PostgreSQL databases."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class GunicornSettings:
    """Worker processes and threads per worker (threads > 1 means the gthread worker)."""

    workers: int
    threads: int = 1

    @classmethod
    def parse(cls, text: str) -> GunicornSettings:
        """Read "4" (4 sync workers) or "2x4" (2 gthread workers of 4 threads)."""
        workers, _, threads = text.lower().partition("x")
        return cls(int(workers), int(threads or 1))

    def args(self) -> list[str]:
        """gunicorn command-line options."""
        worker_class = "gthread" if self.threads > 1 else "sync"
        return ["--workers", str(self.workers), "--threads", str(self.threads), "--worker-class", worker_class]

    def __str__(self) -> str:
        if self.threads > 1:
            return f"gthread {self.workers}x{self.threads}"
        return f"sync {self.workers}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """A gunicorn master serving one WSGI app on 127.0.0.1, logging to a file."""

    def __init__(self, app_spec: str, settings: GunicornSettings, *, env: dict, log_path: Path):
        self.app_spec, self.settings, self.env, self.log_path = app_spec, settings, env, log_path
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        """The exact command line."""
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{self.port}",
            *self.settings.args(),
            "--log-level",
            "warning",
            self.app_spec,
        ]

    def __enter__(self) -> Gunicorn:
        return self.start()

    def start(self) -> Gunicorn:
        """Start the server and wait until it answers."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_ready()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Quick shutdown of the master and its workers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def _wait_ready(self, timeout: float = 120.0) -> None:
        """Wait until the server answers HTTP (starting the CRM takes ~30 s on a loaded 2-core box); fail with
        its log if it exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_tail()}")
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                connection.request("GET", "/")
                connection.getresponse().read()
                return
            except OSError:
                time.sleep(0.1)
            finally:
                connection.close()
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server log."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def process_tree_cpu(root_pid: int | None) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants (Linux /proc)."""
    if root_pid is None:
        return 0.0
    parents, times = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = int(fields[11]) + int(fields[12])
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Database:
    """A database for one benchmark run, the server process whose CPU it costs (None for SQLite), and a CRM
    worker process working on it whose CPU counts too (None: none)."""

    url: str
    server_pid: int | None = None
    worker_pid: int | None = None


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[Database]:
    """Yield a new, empty database: an SQLite file, or one in a throwaway PostgreSQL 15 cluster."""
    if kind == "sqlite":
        yield Database(f"sqlite:///{folder / 'bench.sqlite3'}")
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database kind {kind!r}")
    from tests.pg_cluster import start_cluster

    cluster = start_cluster()
    try:
        url = cluster.create_database("bench")
        postmaster = int(Path(cluster.folder, "data", "postmaster.pid").read_text().split()[0])
        yield Database(url, postmaster)
    finally:
        cluster.stop()
