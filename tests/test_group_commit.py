"""Group commit (crm.group_commit) on the test database: every caller's work durable when run() returns, one
transaction per batch, a failing work costing only itself, a failing COMMIT failing its whole batch."""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, event, func, select
from sqlalchemy.exc import IntegrityError

from crm import group_commit
from crm.db import make_engine
from crm.group_commit import GroupCommit

metadata = MetaData()
parent = Table("gc_parent", metadata, Column("id", Integer, primary_key=True))
row = Table(
    "gc_row",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("caller", Integer, nullable=False),
    # Checked at COMMIT: a row pointing nowhere makes the COMMIT itself fail.
    Column("parent_id", Integer, ForeignKey("gc_parent.id", deferrable=True, initially="DEFERRED")),
)


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def committer(engine):
    committer = GroupCommit(engine, name="test-group-commit")
    yield committer
    committer.close()


def insert(caller: int, parent_id: int | None = None):
    """A work storing one row for `caller`; returns the row's id."""
    return lambda connection: connection.execute(
        row.insert().values(caller=caller, parent_id=parent_id).returning(row.c.id)
    ).scalar_one()


def stored_callers(engine) -> list[int]:
    with engine.connect() as connection:
        return sorted(connection.scalars(select(row.c.caller)))


def in_threads(count: int, target) -> tuple[list[threading.Thread], dict[int, object]]:
    """Start `count` threads calling target(i); their results (or exceptions) land in the returned dict."""
    outcomes: dict[int, object] = {}

    def call(i: int) -> None:
        try:
            outcomes[i] = target(i)
        except Exception as error:
            outcomes[i] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads, outcomes


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def blocked_batch(committer: GroupCommit):
    """Occupy the committer with a work that waits until the returned event is set (later callers queue up)."""
    release, started = threading.Event(), threading.Event()

    def work(connection):
        started.set()
        release.wait(10)
        return insert(-1)(connection)

    threads, _ = in_threads(1, lambda _i: committer.run(work))
    started.wait(10)
    return release, threads


def test_many_threads_each_return_their_own_stored_row(committer, engine):
    threads, outcomes = in_threads(16, lambda i: [committer.run(insert(i * 100 + n)) for n in range(25)])
    for thread in threads:
        thread.join()

    assert stored_callers(engine) == sorted(i * 100 + n for i in range(16) for n in range(25))
    ids = [row_id for result in outcomes.values() for row_id in result]
    assert len(set(ids)) == 400
    assert committer.works == 400


def test_waiting_callers_share_one_commit(committer, engine):
    release, first = blocked_batch(committer)
    threads, outcomes = in_threads(5, lambda i: committer.run(insert(i)))
    wait_until(lambda: committer.waiting == 5)
    commits = committer.commits
    release.set()
    for thread in [*first, *threads]:
        thread.join()

    assert committer.commits == commits + 2  # the blocked batch, then the five together
    assert stored_callers(engine) == [-1, 0, 1, 2, 3, 4]


def test_a_caller_returns_only_after_its_commit(committer, engine):
    holding, release = threading.Event(), threading.Event()

    def hold_commit(_connection):
        holding.set()
        release.wait(10)

    event.listen(committer.connection_engine, "commit", hold_commit)  # runs before the driver's COMMIT
    threads, outcomes = in_threads(1, lambda i: committer.run(insert(7)))
    assert holding.wait(10)

    assert threads[0].is_alive() and outcomes == {}
    assert stored_callers(engine) == []  # not visible to others: not committed yet
    release.set()
    threads[0].join()
    assert isinstance(outcomes[0], int)
    assert stored_callers(engine) == [7]


def test_a_raising_work_rolls_back_only_itself(committer, engine):
    def insert_then_fail(connection):
        insert(99)(connection)
        raise ValueError("refused")

    release, first = blocked_batch(committer)
    works = [insert(1), insert_then_fail, insert(None), insert(2)]  # None: refused by the database (NOT NULL)
    threads, outcomes = in_threads(4, lambda i: committer.run(works[i]))
    wait_until(lambda: committer.waiting == 4)
    release.set()
    for thread in [*first, *threads]:
        thread.join()

    assert isinstance(outcomes[1], ValueError)
    assert isinstance(outcomes[2], IntegrityError)
    assert isinstance(outcomes[0], int) and isinstance(outcomes[3], int)
    assert stored_callers(engine) == [-1, 1, 2]


def test_a_single_raising_work_stores_nothing_and_the_next_batch_works(committer, engine):
    def insert_then_fail(connection):
        insert(99)(connection)
        raise ValueError("refused")

    with pytest.raises(ValueError):
        committer.run(insert_then_fail)
    committer.run(insert(3))
    assert stored_callers(engine) == [3]


def test_a_failing_commit_fails_every_caller_of_its_batch(committer, engine):
    release, first = blocked_batch(committer)
    works = [insert(1), insert(2, parent_id=12345), insert(3)]  # no parent 12345: the COMMIT fails
    threads, outcomes = in_threads(3, lambda i: committer.run(works[i]))
    wait_until(lambda: committer.waiting == 3)
    release.set()
    for thread in [*first, *threads]:
        thread.join()

    assert all(isinstance(outcome, IntegrityError) for outcome in outcomes.values())
    assert stored_callers(engine) == [-1]
    committer.run(insert(4))  # the committer goes on with a fresh transaction
    assert stored_callers(engine) == [-1, 4]


def test_a_small_pool_held_by_the_callers_does_not_stall_the_committer(database_url):
    engine = make_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=2)
    metadata.create_all(engine)
    committer = GroupCommit(engine)
    try:
        with engine.connect() as held:  # the engine's only connection, in use while the callers wait
            held.execute(select(func.count()).select_from(row))
            threads, outcomes = in_threads(8, lambda i: committer.run(insert(i)))
            for thread in threads:
                thread.join()
        assert all(isinstance(outcome, int) for outcome in outcomes.values())
        assert stored_callers(engine) == list(range(8))
    finally:
        committer.close()
        engine.dispose()


def test_run_inside_an_open_write_transaction_is_refused(committer, engine):
    with engine.begin() as connection:
        connection.execute(row.insert().values(caller=5))
        with pytest.raises(RuntimeError):
            committer.run(insert(6))
    assert stored_callers(engine) == [5]


def test_close_commits_what_was_handed_over_then_refuses(committer, engine):
    release, first = blocked_batch(committer)
    threads, outcomes = in_threads(2, lambda i: committer.run(insert(i)))
    wait_until(lambda: committer.waiting == 2)
    closing = threading.Thread(target=committer.close)
    closing.start()
    release.set()
    for thread in [*first, *threads, closing]:
        thread.join()

    assert stored_callers(engine) == [-1, 0, 1]
    with pytest.raises(RuntimeError):
        committer.run(insert(2))


def test_for_engine_is_one_committer_per_engine_and_a_new_one_after_close_or_dispose(engine):
    committer = group_commit.for_engine(engine)
    assert group_commit.for_engine(engine) is committer
    committer.close()
    reopened = group_commit.for_engine(engine)
    assert reopened is not committer
    reopened.run(insert(1))
    engine.dispose()  # closes the engine's committer: a later caller gets a fresh one
    group_commit.for_engine(engine).run(insert(2))
    assert stored_callers(engine) == [1, 2]
    group_commit.for_engine(engine).close()


def test_a_forked_child_commits_through_its_own_committer(committer, engine):
    committer.run(insert(1))  # the parent's committer thread and connection exist before the fork
    child = os.fork()
    if child == 0:  # the child: no pytest from here on, only an exit status
        try:
            committer.run(insert(2))
            group_commit.for_engine(engine).run(insert(3))
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    committer.run(insert(4))  # the parent's connection was left alone by the child
    assert stored_callers(engine) == [1, 2, 3, 4]


@pytest.mark.skipif(os.environ.get("CRM_TEST_DB", "sqlite") != "sqlite", reason="SQLite's single writer")
def test_the_committer_waits_for_another_processes_writer(committer, engine):
    other = engine.raw_connection()  # stands for another process: it bypasses this process's write lock
    other.driver_connection.execute("BEGIN IMMEDIATE")
    threads, outcomes = in_threads(1, lambda i: committer.run(insert(1)))
    wait_until(lambda: committer.waiting == 0)  # the batch is taken: the committer is waiting for the lock

    assert threads[0].is_alive()
    other.driver_connection.execute("INSERT INTO gc_row (caller) VALUES (0)")
    other.commit()
    other.close()
    threads[0].join()
    assert isinstance(outcomes[0], int)
    assert stored_callers(engine) == [0, 1]
