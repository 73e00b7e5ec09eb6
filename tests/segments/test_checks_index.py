"""SQLite reads a driven segment's friend checks (status, times) from the covering index ix_friend_id_checks
(`INDEXED BY`), not from the friend's row: the same friends as the plain query, on both databases."""

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from crm.db import get_engine
from crm.friends.models import Friend, FriendStatus
from crm.segments import service as segments
from crm.segments.compiler import Where, where
from tests.segments.test_compile import all_, any_, field, not_, tag
from tests.segments.world import NOW, build

TREES = {
    "tag": lambda w: tag(w, "A"),
    "tag and recent interaction": lambda w: all_(tag(w, "B"), {"type": "interaction", "op": "newer", "days": 30}),
    "tag, answer and not tag": lambda w: all_(
        tag(w, "A"),
        {"type": "answer", "question_id": w.question, "choice_id": w.choices["yes"]},
        not_(tag(w, "B")),
    ),
    "any of tag, answer and click": lambda w: any_(
        tag(w, "B"),
        {"type": "answer", "question_id": w.question, "choice_id": w.choices["no"]},
        {"type": "clicked_link", "link_id": w.links["l2"]},
    ),
    "field and followed": lambda w: all_(field("plan", "eq", "gold"), {"type": "followed_within", "days": 200}),
}


@pytest.fixture
def world(app):
    return build(app)


def _ids(session, query) -> set[int]:
    return set(session.exec(query).scalars())


@pytest.mark.parametrize("label", TREES)
def test_the_covering_index_plan_selects_what_the_plain_plan_selects(app, world, label):
    tree = TREES[label](world)
    with Session(get_engine(app)) as session:
        found = where(session, tree, now=NOW)
        plain = Where(found.conditions)  # not driven: no hint, the friend's row
        assert found.driven == (session.get_bind().dialect.name == "sqlite")
        following = (Friend.status == FriendStatus.FOLLOWING,)
        assert _ids(session, found.select(Friend.id)) == _ids(session, plain.select(Friend.id))
        expected = _ids(session, plain.select(Friend.id, first=following))
        assert _ids(session, segments.recipient_ids(session, tree, now=NOW)) == expected
        assert segments.count(session, tree, now=NOW) == len(expected)
        everyone = _ids(session, plain.select(Friend.id))
        assert segments.counts(session, tree, now=NOW) == (len(expected), len(everyone))


def test_sqlite_checks_driven_friends_in_the_covering_index(app, world):
    tree = all_(tag(world, "A"), {"type": "interaction", "op": "newer", "days": 30})
    with Session(get_engine(app)) as session:
        query = select(func.count()).select_from(segments.recipient_ids(session, tree, now=NOW).subquery())
        bind = session.get_bind()
        sql = str(query.compile(bind, compile_kwargs={"literal_binds": True}))
        if bind.dialect.name == "postgresql":
            assert "INDEXED BY" not in sql  # its planner reads the index by itself (migration 0041)
            return
        plan = " | ".join(row[3] for row in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "friend INDEXED BY ix_friend_id_checks" in sql
    assert "SEARCH friend USING COVERING INDEX ix_friend_id_checks" in plan, plan
