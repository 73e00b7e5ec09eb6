"""The engine: each action once per trigger, a failing action alone, deferred runs retried by the worker."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import text
from sqlmodel import Session, select

from crm.actions import engine as action_engine
from crm.actions import registry
from crm.actions.jobs import actions_tick
from crm.actions.kinds import ADD_TAG
from crm.actions.models import ActionRun, ActionState
from crm.actions.registry import ActionError, ActionKind, register_kind
from crm.db import get_engine, session_scope
from crm.staff.audit import Actor
from crm.staff.models import AuditEntry
from crm.tags import service as tags_service
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


def run_many(app, triggered: list[action_engine.Triggered]) -> int:
    with session_scope(get_engine(app)) as session:
        return action_engine.run_actions_many(session, triggered)


def outcomes(app, trigger_prefix: str) -> list[tuple[str, int, int, str, int]]:
    """(trigger key, friend, position, state, attempts) of the runs whose key starts with the prefix."""
    with session_scope(get_engine(app)) as session:
        rows = session.exec(
            select(ActionRun).where(ActionRun.trigger_key.startswith(trigger_prefix)).order_by(ActionRun.id)
        )
        return [(r.trigger_key, r.friend_id, r.position, r.state, r.attempts) for r in rows]


def test_many_triggers_tag_their_friends_together_once_each_and_audit_each_friend(app):
    first, second, tagged_before = (make_friend(app, n=n) for n in (1, 2, 3))
    vip = make_tag(app, "VIP")
    with session_scope(get_engine(app)) as session:
        tags_service.add_tag(session, friend_id=tagged_before, tag_id=vip, actor=Actor.system("test"), audit=False)
    actions = [{"type": "add_tag", "tag_id": vip}, {"type": "mark_attention", "state": "needed"}]
    clicks = [(1, first), (2, second), (3, first), (4, tagged_before)]  # the first friend clicked twice
    triggered = [action_engine.Triggered(friend, actions, f"batch:{key}", "link:7") for key, friend in clicks]
    assert run_many(app, triggered) == 8
    assert run_many(app, triggered) == 0  # the same triggers again: nothing stored, nothing run
    assert outcomes(app, "batch:") == [
        ("batch:1", first, 0, ActionState.DONE, 1),
        ("batch:1", first, 1, ActionState.DONE, 1),
        ("batch:2", second, 0, ActionState.DONE, 1),
        ("batch:2", second, 1, ActionState.DONE, 1),
        ("batch:3", first, 0, ActionState.SKIPPED, 1),  # already tagged by its first click
        ("batch:3", first, 1, ActionState.SKIPPED, 1),  # already marked
        ("batch:4", tagged_before, 0, ActionState.SKIPPED, 1),
        ("batch:4", tagged_before, 1, ActionState.DONE, 1),
    ]
    assert [tags_of(app, friend) for friend in (first, second, tagged_before)] == [[vip], [vip], [vip]]
    with session_scope(get_engine(app)) as session:
        assert session.get(Tag, vip).friend_count == 3
        entries = session.exec(select(AuditEntry).where(AuditEntry.action == "friend.tag_added")).all()
        assert sorted((e.actor, e.target_type, e.target_id, e.after) for e in entries) == [
            ("link:7", "friend", str(friend), f'{{"tag_id": {vip}}}') for friend in sorted((first, second))
        ]
        assert session.get(FriendTag, (second, vip)).added_by == "link:7"


def test_a_batch_that_fails_is_run_one_by_one_so_only_the_failing_friend_s_run_fails(app, monkeypatch):
    good, bad, vip = make_friend(app, n=1), make_friend(app, n=2), make_tag(app, "VIP")

    def refuse_bad(context) -> bool:
        if context.friend_id == bad:
            raise RuntimeError("refused")
        return ADD_TAG.run(context)

    def refuse_batch(*_args):
        raise RuntimeError("the batch broke")

    monkeypatch.setitem(registry._kinds, "add_tag", replace(ADD_TAG, run=refuse_bad, run_many=refuse_batch))
    actions = [{"type": "add_tag", "tag_id": vip}]
    triggered = [action_engine.Triggered(friend, actions, f"fallback:{friend}", "link:7") for friend in (good, bad)]
    assert run_many(app, triggered) == 2
    assert outcomes(app, "fallback:") == [
        (f"fallback:{good}", good, 0, ActionState.DONE, 1),
        (f"fallback:{bad}", bad, 0, ActionState.FAILED, 1),
    ]
    assert (tags_of(app, good), tags_of(app, bad)) == ([vip], [])


def test_a_batch_for_a_deleted_tag_is_skipped(app):
    friend_id, vip = make_friend(app), make_tag(app, "VIP")
    with session_scope(get_engine(app)) as session:
        session.delete(session.get(Tag, vip))
    run_many(app, [action_engine.Triggered(friend_id, [{"type": "add_tag", "tag_id": vip}], "gone:1", "link:7")])
    assert outcomes(app, "gone:") == [("gone:1", friend_id, 0, ActionState.SKIPPED, 1)]
