"""Group commit: the short writes of many threads committed together, each caller still waiting for its commit.

A commit costs more than a small write (SQLite: a WAL write and its lock, ~0.3 ms; PostgreSQL: a round trip and a
WAL flush), so requests that each commit one row are limited by commits per second. A GroupCommit has one
committer thread per engine per process: callers hand it a work function and block; it runs the work of every
caller waiting at that moment in ONE transaction (each in its own SAVEPOINT when there are several), commits once,
then wakes each caller with its result. There is no artificial delay: at low load a batch is one caller, so
latency does not grow; under load the batch grows by itself while the previous commit runs.

The committer has its own connection (an engine with a pool of one, built from the same URL), so it never waits
for a pool its callers may have drained. On SQLite it opens each transaction with `BEGIN IMMEDIATE` (taking the
write lock before its first read, so no work meets a busy error halfway) after queueing on this process's write
lock (crm.db.write_lock); waiting for another process's writer polls in 1 ms steps instead of SQLite's back-off,
which sleeps up to 100 ms at a time. Work functions must be short, database-only (no LINE calls, no sleeping),
and must not commit or roll back themselves.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from crm.db import make_engine, write_lock, write_transaction_open

T = TypeVar("T")
SQLITE_BUSY_STEP = 0.001  # seconds between tries of BEGIN IMMEDIATE while another process writes
SQLITE_BUSY_LIMIT = 30.0  # seconds, as the engines' busy timeout


class _Request(Generic[T]):
    """One caller's work, and what came of it; `done` is released by the committer."""

    __slots__ = ("work", "result", "error", "done")

    def __init__(self, work: Callable[[Connection], T]):
        self.work, self.result, self.error = work, None, None
        self.done = threading.Lock()
        self.done.acquire()


class GroupCommit:
    """One committer thread per engine per process. Callers hand it work; it runs the work of every caller waiting
    at that moment in ONE transaction, commits once, then wakes each caller. No artificial delay: at low load a
    batch is one caller, so latency does not grow."""

    def __init__(self, engine: Engine, *, max_batch: int = 256, name: str = "group-commit"):
        self.engine, self.max_batch, self.name = engine, max_batch, name
        self.commits = self.works = 0  # transactions committed and works stored (by the committer thread)
        self._closed = False
        self._connection_engine: Engine | None = None
        self._reset()
        _ALL.add(self)

    def _reset(self) -> None:
        self._pending: deque[_Request] = deque()
        self._wakeup = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._connection: Connection | None = None

    @property
    def connection_engine(self) -> Engine:
        """The committer's own engine (a pool of one connection to the same database)."""
        if self._connection_engine is None:
            url = self.engine.url.render_as_string(hide_password=False)
            self._connection_engine = make_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=False)
            if self._connection_engine.dialect.name == "sqlite":
                event.listen(self._connection_engine, "connect", _no_busy_timeout)
        return self._connection_engine

    def run(self, work: Callable[[Connection], T]) -> T:
        """Block until the transaction that ran `work(connection)` has committed; return work's result.
        If work raises, only its own SAVEPOINT is rolled back and run() re-raises in that caller; the others commit.
        If BEGIN or COMMIT fails, every caller of that batch gets the exception (nothing of theirs is stored)."""
        if write_transaction_open() or (self._thread is not None and self._thread.ident == threading.get_ident()):
            raise RuntimeError("group commit called inside an open write transaction: it would wait for itself")
        request = _Request(work)
        with self._wakeup:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._commit_loop, name=self.name, daemon=True)
                self._thread.start()
            self._pending.append(request)
            self._wakeup.notify()
        request.done.acquire()
        if request.error is not None:
            raise request.error
        return request.result

    @property
    def waiting(self) -> int:
        """How many callers wait for the next batch (not counting the batch being committed)."""
        return len(self._pending)

    def close(self) -> None:
        """Commit what callers already handed over, stop the thread and close the connection; later run()s fail."""
        with self._wakeup:
            self._closed = True
            self._wakeup.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        if self._connection_engine is not None:
            self._connection_engine.dispose()

    def _commit_loop(self) -> None:
        try:
            while batch := self._next_batch():
                self._commit(batch)
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _next_batch(self) -> list[_Request]:
        with self._wakeup:
            while not self._pending and not self._closed:
                self._wakeup.wait()
            return [self._pending.popleft() for _ in range(min(len(self._pending), self.max_batch))]

    def _commit(self, batch: list[_Request]) -> None:
        try:
            with write_lock(self.engine):
                connection = self._open_connection()
                try:
                    self._run_batch(connection, batch)
                except BaseException:
                    connection.invalidate()  # closing the driver's connection rolls back; a new one next batch
                    raise
        except BaseException as error:  # BEGIN, a savepoint or COMMIT failed: the whole batch is not stored
            for request in batch:
                if request.error is None:
                    request.error = error
        finally:
            for request in batch:
                request.done.release()

    def _run_batch(self, connection: Connection, batch: list[_Request]) -> None:
        self._begin(connection)
        # Several works: each in a savepoint, set through the driver (the SQLAlchemy savepoint costs more than a
        # click's own statements); one work: the transaction is its own.
        cursor = connection.connection.cursor() if len(batch) > 1 else None
        stored = 0
        for request in batch:
            if cursor is not None:
                cursor.execute("SAVEPOINT group_commit")
            try:
                request.result = request.work(connection)
            except BaseException as error:  # only this work's changes go; the caller gets its own error
                request.error = error
                if cursor is not None:
                    cursor.execute("ROLLBACK TO SAVEPOINT group_commit")
                    cursor.execute("RELEASE SAVEPOINT group_commit")
                continue
            stored += 1
            if cursor is not None:
                cursor.execute("RELEASE SAVEPOINT group_commit")
        if stored:
            connection.commit()
            self.commits += 1
            self.works += stored
        else:
            connection.rollback()

    def _open_connection(self) -> Connection:
        if self._connection is None or self._connection.closed or self._connection.invalidated:
            if self._connection is not None:
                self._connection.close()
            self._connection = self.connection_engine.connect()
        return self._connection

    def _begin(self, connection: Connection) -> None:
        connection.begin()
        if connection.dialect.name != "sqlite":
            return
        cursor = connection.connection.cursor()
        deadline = time.monotonic() + SQLITE_BUSY_LIMIT
        while True:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except connection.dialect.loaded_dbapi.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(SQLITE_BUSY_STEP)

    def _forget_after_fork(self) -> None:
        """In a forked child: the committer thread did not come along; the parent's connection is left untouched."""
        _INHERITED.append((self._connection, self._connection_engine))
        if self._connection_engine is not None:
            self._connection_engine.dispose(close=False)
        self._connection_engine = None
        self._reset()


def _no_busy_timeout(dbapi_connection, _record) -> None:
    """The committer waits for other processes' writers in its own loop (`_begin`); once it holds the write lock,
    WAL makes none of its statements wait."""
    dbapi_connection.execute("PRAGMA busy_timeout=0")


_ALL: weakref.WeakSet[GroupCommit] = weakref.WeakSet()
_INHERITED: list = []  # a forked child's copies of the parent's connections: kept, never used or closed
_COMMITTERS: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
_COMMITTERS_LOCK = threading.Lock()


def for_engine(engine: Engine) -> GroupCommit:
    """The process's committer for engine (a new one after os.fork, e.g. in a gunicorn worker)."""
    committer = _COMMITTERS.get(engine)
    if committer is None or committer._closed:
        with _COMMITTERS_LOCK:
            committer = _COMMITTERS.get(engine)
            if committer is None or committer._closed:
                committer = _COMMITTERS[engine] = GroupCommit(engine)
                event.listen(engine, "engine_disposed", lambda _engine: committer.close())
    return committer


def _after_fork_in_child() -> None:
    global _COMMITTERS_LOCK
    _COMMITTERS_LOCK = threading.Lock()
    for committer in list(_ALL):
        committer._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
