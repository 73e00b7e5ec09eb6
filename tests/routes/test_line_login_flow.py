"""The LINE Login flow of a route against the simulator over HTTP: state and nonce, forged and replayed
callbacks, a login without a follow, a follow that comes after the login, actions first-add-only or every
time, unblocks."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlmodel import select

from crm.actions.models import ActionRun
from crm.routes.models import ActionTiming, RouteArrival, RouteVisit
from crm.scenarios.models import Enrolment, TriggerKind
from crm.tags.models import FriendTag
from tests.factories import friend_id_of, make_route, make_scenario, make_tag


def _arrivals(session) -> list[RouteArrival]:
    session.expire_all()
    return list(session.exec(select(RouteArrival).order_by(RouteArrival.id)))


def _tagged(session, friend_id: int, tag_id: int) -> bool:
    session.expire_all()
    query = select(FriendTag).where(FriendTag.friend_id == friend_id, FriendTag.tag_id == tag_id)
    return session.exec(query).first() is not None


def test_a_new_friend_through_a_route_is_attributed_and_gets_its_tag(app, visitor, sim, session):
    tag_id = make_tag(app, "ポスター経由")
    route_id, code = make_route(app, actions=[{"type": "add_tag", "tag_id": tag_id}])

    authorize = visitor.authorize_url(code)
    query = parse_qs(urlsplit(authorize).query)
    assert query["bot_prompt"] == ["aggressive"] and query["scope"] == ["openid profile"]
    assert query["state"][0] != query["nonce"][0] and len(query["state"][0]) >= 40
    visit = visitor.login(code, name="花子")
    assert "friendship_status_changed=true" in visit.callback_url
    done = visitor.back(visit.callback_url)

    assert done.status_code == 200 and 'data-added="1"' in done.text
    friend_id = friend_id_of(app, visit.user_id)
    [arrival] = _arrivals(session)
    assert (arrival.route_id, arrival.friend_id, arrival.kind, arrival.first_route) == (
        route_id,
        friend_id,
        "new",
        True,
    )
    assert _tagged(session, friend_id, tag_id)
    assert sim.get_user(visit.user_id)["status"] == "following"


def test_a_forged_or_replayed_callback_records_nothing(app, visitor, session):
    tag_id = make_tag(app, "VIP")
    _route_id, code = make_route(app, actions=[{"type": "add_tag", "tag_id": tag_id}])
    visit = visitor.login(code, add=False)
    query = parse_qs(urlsplit(visit.callback_url).query)
    forged = visit.callback_url.replace(query["state"][0], "forged-state-" + "x" * 30)

    refused = visitor.back(forged)
    assert refused.status_code == 400 and 'data-reason="state"' in refused.text
    assert visitor.back(visit.callback_url).status_code == 200  # the genuine one
    replayed = visitor.back(visit.callback_url)
    assert replayed.status_code == 400 and 'data-reason="state"' in replayed.text
    assert len(_arrivals(session)) == 1


def test_a_reused_code_is_refused_by_line_and_nothing_is_recorded(app, visitor, session):
    _route_id, code = make_route(app)
    first = visitor.login(code, add=False)
    assert visitor.back(first.callback_url).status_code == 200
    old_code = parse_qs(urlsplit(first.callback_url).query)["code"][0]
    second = visitor.login(code, user_id=first.user_id, add=False)
    fresh_state = parse_qs(urlsplit(second.callback_url).query)["state"][0]
    callback = f"{visitor.crm_url}/i/callback?code={old_code}&state={fresh_state}&friendship_status_changed=false"

    refused = visitor.back(callback)

    assert refused.status_code == 400 and 'data-reason="verify"' in refused.text
    assert len(_arrivals(session)) == 1


def test_a_cancelled_login_says_what_to_do_and_records_nothing(app, visitor, session):
    _route_id, code = make_route(app)
    authorize = visitor.authorize_url(code)
    flow = {key: values[0] for key, values in parse_qs(urlsplit(authorize).query).items()}
    base = authorize.split("/oauth2/")[0]
    answer = visitor.http.post(
        f"{base}/oauth2/v2.1/authorize/consent", data={**flow, "decision": "cancel"}, allow_redirects=False
    )
    assert "error=access_denied" in answer.headers["Location"]

    page = visitor.back(answer.headers["Location"])

    assert page.status_code == 400 and 'data-reason="cancelled"' in page.text
    assert _arrivals(session) == []


def test_a_login_without_a_follow_is_a_login_only_until_the_follow_comes(app, visitor, sim, session):
    tag_id = make_tag(app, "後から追加")
    _route_id, code = make_route(app, actions=[{"type": "add_tag", "tag_id": tag_id}])
    visit = visitor.login(code, add=False)
    page = visitor.back(visit.callback_url)
    assert 'data-added="0"' in page.text and 'id="add-friend"' in page.text
    [arrival] = _arrivals(session)
    assert (arrival.kind, arrival.friend_id, arrival.settled_at) == ("login", None, None)

    sim.follow(visit.user_id)  # they add the account a little later, from the add-friend button

    [arrival] = _arrivals(session)
    friend_id = friend_id_of(app, visit.user_id)
    assert (arrival.kind, arrival.friend_id) == ("new", friend_id)
    assert _tagged(session, friend_id, tag_id)


def test_first_add_only_runs_nothing_for_a_friend_who_comes_back_through_the_route(app, visitor, sim, session):
    tag_id = make_tag(app, "初回")
    _route_id, code = make_route(app, actions=[{"type": "add_tag", "tag_id": tag_id}])
    user_id = sim.create_user("既存の友だち")
    sim.follow(user_id)

    visitor.back(visitor.login(code, user_id=user_id).callback_url)

    [arrival] = _arrivals(session)
    assert arrival.kind == "existing"
    assert not _tagged(session, friend_id_of(app, user_id), tag_id)


def test_every_time_runs_the_actions_at_each_use_and_on_an_unblock(app, visitor, sim, session):
    tag_id = make_tag(app, "毎回")
    _route_id, code = make_route(
        app, actions=[{"type": "add_tag", "tag_id": tag_id}], action_timing=ActionTiming.EVERY_TIME
    )
    user_id = sim.create_user("常連")
    sim.follow(user_id)
    sim.unfollow(user_id)

    visit = visitor.login(code, user_id=user_id)  # the add-friend screen unblocks
    assert "friendship_status_changed=true" in visit.callback_url
    visitor.back(visit.callback_url)
    visitor.back(visitor.login(code, user_id=user_id).callback_url)  # and once more, already a friend

    assert [arrival.kind for arrival in _arrivals(session)] == ["unblocked", "existing"]
    friend_id = friend_id_of(app, user_id)
    runs = session.exec(select(ActionRun).where(ActionRun.friend_id == friend_id)).all()
    assert len(runs) == 2 and {run.source for run in runs} == {f"route:{_route_id}"}


def test_a_route_can_keep_the_friend_added_scenarios_off(app, visitor, sim, session):
    scenario_id = make_scenario(app, trigger_kind=TriggerKind.FRIEND_ADDED, steps=[{"delay_minutes": 60}])
    _route_id, code = make_route(app, run_welcome_scenarios=False)
    visit = visitor.login(code, add=False)
    visitor.back(visit.callback_url)

    sim.follow(visit.user_id)  # the follow after the login: the route's waiting login says "no welcome"
    other = sim.create_user("経路なし")
    sim.follow(other)

    session.expire_all()
    enrolled = {row.friend_id for row in session.exec(select(Enrolment).where(Enrolment.scenario_id == scenario_id))}
    assert enrolled == {friend_id_of(app, other)}


def test_visits_are_counted_and_each_state_is_single_use(app, visitor, session):
    route_id, code = make_route(app)
    visitor.authorize_url(code)
    visitor.authorize_url(code)
    session.expire_all()
    visits = session.exec(select(RouteVisit).where(RouteVisit.route_id == route_id)).all()
    assert len(visits) == 2 and len({visit.state for visit in visits}) == 2
    assert all(visit.used_at is None for visit in visits)


def test_a_follow_before_the_callback_has_its_friend_added_scenarios_withdrawn(app, visitor, session):
    scenario_id = make_scenario(app, trigger_kind=TriggerKind.FRIEND_ADDED, steps=[{"delay_minutes": 60}])
    _route_id, code = make_route(app, run_welcome_scenarios=False)
    visit = visitor.login(code)  # the add-friend screen sends the follow first, as LINE does
    session.expire_all()
    [enrolment] = session.exec(select(Enrolment).where(Enrolment.scenario_id == scenario_id)).all()
    assert enrolment.status == "active"

    visitor.back(visit.callback_url)

    session.expire_all()
    enrolment = session.get(Enrolment, enrolment.id)
    assert (enrolment.status, enrolment.exit_reason) == ("exited", "inflow_route")
