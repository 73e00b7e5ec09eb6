"""Tag-on-click and link actions through the engine (/r/<token> → worker → actions, once per click), and the
link-clicked trigger fired by the worker from a cursor over the clicks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from crm import migrate
from crm.actions.models import ActionRun, ActionState
from crm.actions.registry import ActionError
from crm.db import get_engine, make_engine, session_scope
from crm.friends.models import Friend
from crm.staff.audit import Actor
from crm.tags.models import FriendTag
from crm.timeutil import utcnow
from crm.tracking import clicks as link_clicks
from crm.tracking import links as tracked_links
from crm.tracking.jobs import click_actions_tick, click_triggers_tick
from crm.tracking.models import ClickAction, LinkClick, TrackedLink
from crm.triggers import TriggerEvent, subscribe
from tests.factories import make_friend, make_tag

FIRED = []
STAFF = Actor.system("test")


@subscribe
def _record(session, trigger) -> None:
    FIRED.append(trigger)


def tracked(app, friend_id: int | None, *, tag_id: int | None = None, actions: list[dict] | None = None):
    """(link id, /r/ path) of a link to example.com for the friend (None: the anonymous token)."""
    with session_scope(get_engine(app)) as session:
        link = tracked_links.create_link(session, destination="https://example.com/sale", tag_id=tag_id)
        if actions is not None:
            link_clicks.set_link_actions(session, link_id=link.id, actions=actions, actor=STAFF)
        return link.id, "/r/" + tracked_links.token_for(session, link_id=link.id, friend_id=friend_id)


def runs(app) -> list[ActionRun]:
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(ActionRun).order_by(ActionRun.id)))


def test_a_tagging_link_adds_its_tag_through_the_engine_once_per_click(app, client):
    friend_id, vip = make_friend(app), make_tag(app, "VIP")
    link_id, path = tracked(app, friend_id, tag_id=vip)
    assert client.get(path).status_code == 302
    assert client.get(path).status_code == 302
    assert click_actions_tick(get_engine(app)) == 2
    assert click_actions_tick(get_engine(app)) == 0
    done = runs(app)
    assert [(r.kind, r.state, r.source) for r in done] == [
        ("add_tag", ActionState.DONE, f"link:{link_id}"),
        ("add_tag", ActionState.SKIPPED, f"link:{link_id}"),  # the second click: already tagged
    ]
    assert len({r.trigger_key for r in done}) == 2 and all(r.trigger_key.startswith("link_click:") for r in done)
    with session_scope(get_engine(app)) as session:
        assert session.get(FriendTag, (friend_id, vip)).added_by == f"link:{link_id}"


def test_a_friend_s_click_after_the_queue_emptied_still_runs_the_link_s_actions(app, client):
    # SQLite hands an emptied queue's row ids out again: the runs are keyed by the click instead.
    friend_id, vip = make_friend(app), make_tag(app, "VIP")
    _, path = tracked(app, friend_id, actions=[{"type": "add_tag", "tag_id": vip}])
    for _ in range(2):
        assert client.get(path).status_code == 302
        assert click_actions_tick(get_engine(app)) == 1
    with session_scope(get_engine(app)) as session:
        click_ids = session.exec(select(LinkClick.id).order_by(LinkClick.id)).all()
    assert [(r.trigger_key, r.state) for r in runs(app)] == [
        (f"link_click:{click_ids[0]}", ActionState.DONE),
        (f"link_click:{click_ids[1]}", ActionState.SKIPPED),  # already tagged, but run (and in the history)
    ]


def test_a_click_queued_before_the_click_id_column_keeps_its_queue_key(app):
    friend_id, vip = make_friend(app), make_tag(app, "VIP")
    link_id, _ = tracked(app, friend_id, tag_id=vip)
    with session_scope(get_engine(app)) as session:
        session.add(ClickAction(id=41, link_id=link_id, friend_id=friend_id, tag_id=vip))
    assert click_actions_tick(get_engine(app)) == 1
    assert [(r.trigger_key, r.state) for r in runs(app)] == [("click_action:41", ActionState.DONE)]


def test_a_link_s_list_of_actions_runs_on_a_friend_s_click_only(app, client):
    friend_id, vip = make_friend(app), make_tag(app, "VIP")
    actions = [{"type": "add_tag", "tag_id": str(vip)}, {"type": "mark_attention", "state": "needed"}]
    link_id, path = tracked(app, friend_id, actions=actions)
    _, anonymous = tracked(app, None, actions=actions)
    assert client.get(anonymous).status_code == 302
    assert client.get(path).status_code == 302
    assert click_actions_tick(get_engine(app)) == 1  # the anonymous click queued nothing
    assert [(r.kind, r.state) for r in runs(app)] == [("add_tag", "done"), ("mark_attention", "done")]
    with session_scope(get_engine(app)) as session:
        assert session.get(Friend, friend_id).attention == "needed"
        assert session.get(FriendTag, (friend_id, vip)) is not None
        assert link_clicks.link_actions(session.get(TrackedLink, link_id)) == [
            {"type": "add_tag", "tag_id": vip},
            {"type": "mark_attention", "state": "needed"},
        ]
        with pytest.raises(ActionError):
            link_clicks.set_link_actions(session, link_id=link_id, actions=[{"type": "add_tag"}], actor=STAFF)


def test_every_friend_s_click_fires_the_link_clicked_trigger_from_the_worker(app, client):
    friend_id = make_friend(app)
    link_id, path = tracked(app, friend_id)  # no actions: nothing queued, the trigger still fires
    _, anonymous = tracked(app, None)
    FIRED.clear()
    assert client.get(path).status_code == 302
    assert client.get(anonymous).status_code == 302
    now = utcnow()
    assert click_triggers_tick(get_engine(app), now=now) == 0  # settling: concurrent ids commit out of order
    assert click_triggers_tick(get_engine(app), now=now + timedelta(seconds=6)) == 2
    assert click_triggers_tick(get_engine(app), now=now + timedelta(seconds=60)) == 0
    with session_scope(get_engine(app)) as session:
        click_id = session.exec(select(LinkClick.id).where(LinkClick.friend_id == friend_id)).one()
    clicked = [t for t in FIRED if t.event == TriggerEvent.LINK_CLICKED]
    assert [(t.friend_id, t.ref_id, t.key) for t in clicked] == [(friend_id, link_id, f"click:{click_id}")]
    assert click_actions_tick(get_engine(app)) == 0


def test_the_trigger_cursor_never_passes_a_click_stamped_later_than_the_next_one(app):
    friend_id, now = make_friend(app), utcnow()
    _, path = tracked(app, friend_id)
    with get_engine(app).connect() as connection:
        target = link_clicks.find_target(connection, path.removeprefix("/r/"))
        # The lower id carries the later time: its process stamped it last, or its host's clock is ahead.
        for at in (now, now - timedelta(minutes=1)):
            link_clicks.record_click(connection, target=target, user_agent="test", now=at)
        connection.commit()
    FIRED.clear()
    assert click_triggers_tick(get_engine(app), now=now) == 0  # the first click is not settled: wait for it
    assert click_triggers_tick(get_engine(app), now=now + timedelta(seconds=6)) == 2
    with session_scope(get_engine(app)) as session:
        click_ids = session.exec(select(LinkClick.id).order_by(LinkClick.id)).all()
    assert [t.key for t in FIRED if t.event == TriggerEvent.LINK_CLICKED] == [f"click:{id_}" for id_ in click_ids]


def test_the_migration_turns_an_on_click_tag_into_the_link_s_actions(app, database_url):
    tag_id = make_tag(app, "VIP")
    get_engine(app).dispose()
    migrate.downgrade(database_url, "0023")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO tracked_link (destination, tag_id, created_at) VALUES ('https://a.jp', :t, '2026-01-01')"
            ),
            {"t": tag_id},
        )
    engine.dispose()
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT actions FROM tracked_link")).scalar()
    engine.dispose()
    assert stored == f'[{{"tag_id": {tag_id}, "type": "add_tag"}}]'
