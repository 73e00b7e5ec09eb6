"""The engine: each action once per trigger, a failing action alone, deferred runs retried by the worker."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import text
from sqlmodel import Session, select

from crm.actions import engine as action_engine
from crm.actions.jobs import actions_tick
from crm.actions.models import ActionState
from crm.actions.registry import ActionError, ActionKind, register_kind
from crm.db import get_engine, session_scope
from crm.staff.models import AuditEntry
from crm.tags.models import FriendTag, Tag
from crm.timeutil import utcnow
from tests.actions.helpers import run, runs_of
from tests.conftest import TEST_DB
from tests.factories import make_friend, make_tag

FAILURES: list[int] = []


def _explode(context) -> bool:
    FAILURES.append(context.friend_id)
    context.session.add(Tag(name="written before the failure"))
    context.session.flush()
    raise RuntimeError("the kind broke")


EXPLODE = register_kind(
    ActionKind("test_explode", "Explode", lambda session, params: params, _explode, lambda session, params: "boom")
)
FLAKY_LEFT = {"failures": 0}


def _flaky(context) -> bool:
    if FLAKY_LEFT["failures"] > 0:
        FLAKY_LEFT["failures"] -= 1
        raise RuntimeError("not yet")
    return True


FLAKY = register_kind(ActionKind("test_flaky", "Flaky", lambda s, p: p, _flaky, lambda s, p: "flaky"))


def tags_of(app, friend_id: int) -> list[int]:
    with session_scope(get_engine(app)) as session:
        return sorted(session.exec(select(FriendTag.tag_id).where(FriendTag.friend_id == friend_id)))


def audit_count(app, action: str) -> int:
    with session_scope(get_engine(app)) as session:
        return len(list(session.exec(select(AuditEntry).where(AuditEntry.action == action))))


def test_the_same_trigger_runs_its_actions_once(app):
    friend_id, vip = make_friend(app), make_tag(app, "VIP")
    actions = [{"type": "add_tag", "tag_id": vip}, {"type": "mark_attention", "state": "needed"}]
    assert run(app, friend_id, actions, trigger_key="survey_answer:1") == [
        ("add_tag", ActionState.DONE, None),
        ("mark_attention", ActionState.DONE, None),
    ]
    run(app, friend_id, [{"type": "remove_tag", "tag_id": vip}], trigger_key="other:1")
    assert run(app, friend_id, actions, trigger_key="survey_answer:1") == []
    assert tags_of(app, friend_id) == []  # the repeat did not add the tag back
    assert len(runs_of(app, friend_id)) == 3
    assert run(app, friend_id, actions, trigger_key="survey_answer:2")[0] == ("add_tag", ActionState.DONE, None)


def test_a_failing_action_is_recorded_and_the_others_still_run(app):
    friend_id, vip = make_friend(app), make_tag(app, "VIP")
    actions = [{"type": "test_explode"}, {"type": "add_tag", "tag_id": vip}, {"type": "no_such_kind"}]
    outcome = run(app, friend_id, actions)
    assert outcome == [
        ("test_explode", ActionState.FAILED, "the kind broke"),
        ("add_tag", ActionState.DONE, None),
        ("no_such_kind", ActionState.SKIPPED, action_engine.UNKNOWN_KIND),
    ]
    assert tags_of(app, friend_id) == [vip]
    with session_scope(get_engine(app)) as session:  # the failed action's own writes were rolled back
        assert session.exec(select(Tag).where(Tag.name == "written before the failure")).first() is None


def test_a_deleted_tag_is_skipped(app):
    friend_id, vip = make_friend(app), make_tag(app, "VIP")
    with session_scope(get_engine(app)) as session:
        session.delete(session.get(Tag, vip))
    assert run(app, friend_id, [{"type": "add_tag", "tag_id": vip}]) == [("add_tag", ActionState.SKIPPED, None)]


def test_deferred_runs_wait_for_the_worker_which_retries_then_gives_up(app):
    friend_id, vip = make_friend(app), make_tag(app, "VIP")
    FLAKY_LEFT["failures"] = 2
    actions = [{"type": "add_tag", "tag_id": vip}, {"type": "test_flaky"}, {"type": "test_explode"}]
    start = utcnow()
    with time_machine.travel(start, tick=False):
        assert [state for _, state, _ in run(app, friend_id, actions, defer=True)] == [ActionState.PENDING] * 3
        assert tags_of(app, friend_id) == []
        assert actions_tick(get_engine(app)) == 3
    assert tags_of(app, friend_id) == [vip]
    states = {r.kind: (r.state, r.attempts) for r in runs_of(app, friend_id)}
    assert states == {
        "add_tag": (ActionState.DONE, 1),
        "test_flaky": (ActionState.PENDING, 1),
        "test_explode": (ActionState.PENDING, 1),
    }
    assert actions_tick(get_engine(app), now=start + timedelta(seconds=29)) == 0  # backing off
    moment = start
    for attempt in range(2, action_engine.MAX_ATTEMPTS + 1):
        moment += action_engine.backoff(attempt - 1)
        actions_tick(get_engine(app), now=moment)
    states = {r.kind: (r.state, r.attempts) for r in runs_of(app, friend_id)}
    assert states["test_flaky"] == (ActionState.DONE, 3)
    assert states["test_explode"] == (ActionState.FAILED, action_engine.MAX_ATTEMPTS)
    assert actions_tick(get_engine(app), now=moment + timedelta(days=1)) == 0


def test_validate_actions_normalises_and_names_the_position_at_fault(app):
    vip = make_tag(app, "VIP")
    with session_scope(get_engine(app)) as session:
        assert action_engine.validate_actions(session, [{"type": "add_tag", "tag_id": str(vip)}]) == [
            {"type": "add_tag", "tag_id": vip}
        ]
        with pytest.raises(ActionError) as raised:
            action_engine.validate_actions(session, [{"type": "add_tag", "tag_id": vip}, {"type": "add_tag"}])
        assert raised.value.params["position"] == 2 and raised.value.field == "actions"
        with pytest.raises(ActionError):
            action_engine.validate_actions(session, [{"type": "nope"}])
        with pytest.raises(ActionError):
            action_engine.validate_actions(session, [{"type": "mark_attention", "state": "needed"}] * 21)


@pytest.mark.skipif(TEST_DB != "postgresql", reason="two transactions at once on PostgreSQL only")
def test_two_transactions_firing_the_same_trigger_run_it_once(app):
    friend_id, vip = make_friend(app), make_tag(app, "VIP")
    actions = [{"type": "add_tag", "tag_id": vip}]
    engine = get_engine(app)
    first = Session(engine)
    second_result: list = []

    def second() -> None:
        with Session(engine) as session:
            runs = action_engine.run_actions(
                session, friend_id=friend_id, actions=actions, trigger_key="click:7", source="link:1"
            )
            second_result.append(len(runs))
            session.commit()

    try:
        assert (
            len(
                action_engine.run_actions(
                    first, friend_id=friend_id, actions=actions, trigger_key="click:7", source="link:1"
                )
            )
            == 1
        )
        thread = threading.Thread(target=second)
        thread.start()
        _wait_until_blocked(engine)
        first.commit()
        thread.join(timeout=30)
    finally:
        first.close()
    assert second_result == [0]
    assert tags_of(app, friend_id) == [vip]
    assert audit_count(app, "friend.tag_added") == 1


def _wait_until_blocked(engine, *, patience: float = 30.0) -> None:
    """Poll until another connection waits on a lock (the second insert on the unique key); on a loaded machine the
    other thread may take seconds to get there, so the poll has a deadline rather than a count. Each poll is its
    own transaction: PostgreSQL keeps one snapshot of pg_stat_activity for a whole transaction, so polling inside
    one never saw a wait that began after the first poll."""
    deadline = time.monotonic() + patience
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar()
            if waiting:
                return
            threading.Event().wait(0.01)  # give the other thread the CPU between polls
        raise AssertionError("the second transaction never waited")
