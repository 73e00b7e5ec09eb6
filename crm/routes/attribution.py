"""Attribution: a visit of /i/<code>, its single-use state and nonce, the verified login recorded for a LINE user
id, and the arrival settled when the friend's follow comes (before or after the login callback, in either
order) or at once for someone already a friend; settling runs the route's actions through the action engine,
once per trigger key."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from crm.actions.engine import run_actions
from crm.friends.models import Friend, FriendStatus
from crm.routes.models import ActionTiming, ArrivalKind, InflowRoute, RouteArrival, RouteVisit
from crm.routes.service import route_actions
from crm.scenarios.triggers import withdraw_welcome
from crm.triggers import Trigger, TriggerEvent

STATE_LIFETIME = timedelta(minutes=10)  # from the visit to LINE Login's callback
FOLLOW_WINDOW = timedelta(minutes=30)  # a follow this close to a login (before or after) came through the route
SOURCE = "route"


@dataclass(frozen=True)
class ClaimedVisit:
    """A visit whose state the callback has just used up."""

    visit_id: int
    route_id: int
    nonce: str


def record_visit(session: Session, *, route_id: int, now: datetime, with_login: bool) -> RouteVisit:
    """Count a visit; with LINE Login, give it a fresh state and nonce to send to LINE."""
    visit = RouteVisit(route_id=route_id, visited_at=now)
    if with_login:
        visit.state, visit.nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(visit)
    session.flush()
    return visit


def claim_state(session: Session, *, state: str, now: datetime) -> ClaimedVisit | None:
    """Use up a state once: None when it is unknown (forged), used before (replayed) or too old."""
    if not state or len(state) > 64:
        return None
    claimed = session.exec(
        update(RouteVisit)
        .where(
            RouteVisit.state == state,
            RouteVisit.used_at.is_(None),
            RouteVisit.visited_at > now - STATE_LIFETIME,
        )
        .values(used_at=now)
    ).rowcount
    if claimed != 1:
        return None
    visit = session.exec(select(RouteVisit).where(RouteVisit.state == state)).one()
    return ClaimedVisit(visit.id, visit.route_id, visit.nonce or "")


def record_login(
    session: Session, *, claimed: ClaimedVisit, line_user_id: str, friendship_changed: bool, now: datetime
) -> RouteArrival:
    """Record a verified login. A friend who follows now is settled at once: one who just added the account
    (the follow came before this callback) as added, one who already was a friend as such; anyone else waits
    for their follow."""
    arrival = RouteArrival(
        route_id=claimed.route_id, visit_id=claimed.visit_id, line_user_id=line_user_id, logged_in_at=now
    )
    session.add(arrival)
    session.flush()
    friend = session.exec(select(Friend).where(Friend.line_user_id == line_user_id)).first()
    if friend is None or friend.status != FriendStatus.FOLLOWING:
        arrival.friend_id = friend.id if friend else None
        return arrival
    followed_just_now = friend.last_followed_at is not None and friend.last_followed_at > now - FOLLOW_WINDOW
    if friendship_changed and followed_just_now:
        settle(session, arrival, friend=friend, kind=_kind_of_follow(friend), now=now)
        route = session.get(InflowRoute, claimed.route_id)
        if route is not None and not route.run_welcome_scenarios:  # the follow came first and enrolled them
            withdraw_welcome(session, friend_id=friend.id, since=friend.last_followed_at, now=now)
    else:
        settle(session, arrival, friend=friend, kind=ArrivalKind.EXISTING, now=now)
    return arrival


def _kind_of_follow(friend: Friend) -> str:
    """What the friend's latest follow was, read from the friend row (the follow came before the login)."""
    if friend.follow_count <= 1:
        return ArrivalKind.NEW
    return ArrivalKind.UNBLOCKED if friend.blocked_at is not None else ArrivalKind.RETURNING


def pending_login(
    session: Session, *, line_user_id: str, now: datetime, settled_at: datetime | None = None
) -> RouteArrival | None:
    """The newest login of this LINE user still waiting for a follow (or settled by the follow at `settled_at`)."""
    waiting = RouteArrival.settled_at.is_(None)
    if settled_at is not None:
        waiting = waiting | (RouteArrival.settled_at == settled_at)
    query = (
        select(RouteArrival)
        .where(RouteArrival.line_user_id == line_user_id, waiting, RouteArrival.logged_in_at > now - FOLLOW_WINDOW)
        .order_by(RouteArrival.logged_in_at.desc(), RouteArrival.id.desc())
    )
    return session.exec(query).first()


@functools.cache
def _login_waiting_query(with_settled_at: bool):
    """pending_login's lookup by friend id, plain columns, built once (parameters: friend_id, since, settled_at)."""
    friend, arrival = Friend.__table__.c, RouteArrival.__table__.c
    waiting = arrival.settled_at.is_(None)
    if with_settled_at:
        waiting = waiting | (arrival.settled_at == bindparam("settled_at", type_=arrival.settled_at.type))
    return (
        select(arrival.id)
        .join_from(RouteArrival.__table__, Friend.__table__, friend.line_user_id == arrival.line_user_id)
        .where(friend.id == bindparam("friend_id"), waiting)
        .where(arrival.logged_in_at > bindparam("since", type_=arrival.logged_in_at.type))
        .limit(1)
    )


def login_waiting(session: Session, *, friend_id: int, now: datetime, settled_at: datetime | None = None) -> bool:
    """Whether pending_login would find a login for the friend: one indexed lookup that loads no object, so the
    follow of someone who came through no route (nearly every follow) costs one statement and no friend row."""
    query = _login_waiting_query(settled_at is not None)
    params = {"friend_id": friend_id, "since": now - FOLLOW_WINDOW, "settled_at": settled_at}
    return session.connection().execute(query, params).first() is not None


FOLLOW_KINDS = {TriggerEvent.FRIEND_ADDED: None, TriggerEvent.FRIEND_UNBLOCKED: ArrivalKind.UNBLOCKED}


def on_trigger(session: Session, trigger: Trigger) -> None:
    """crm.triggers subscriber: a follow settles the friend's waiting login (the callback came first)."""
    if trigger.event not in FOLLOW_KINDS:
        return
    if not login_waiting(session, friend_id=trigger.friend_id, now=trigger.occurred_at):
        return
    friend = session.get(Friend, trigger.friend_id)
    if friend is None:
        return
    arrival = pending_login(session, line_user_id=friend.line_user_id, now=trigger.occurred_at)
    if arrival is None:
        return
    kind = FOLLOW_KINDS[trigger.event] or (ArrivalKind.NEW if friend.follow_count <= 1 else ArrivalKind.RETURNING)
    settle(session, arrival, friend=friend, kind=kind, now=trigger.occurred_at, reply_token=trigger.reply_token)


def skips_welcome_scenarios(session: Session, trigger: Trigger) -> bool:
    """Whether a follow's friend-added scenarios stay off: the friend's waiting login (or the one this follow just
    settled, whichever subscriber ran first) came through a route that does not run them (crm.scenarios asks
    before enrolling)."""
    at = trigger.occurred_at
    if not login_waiting(session, friend_id=trigger.friend_id, now=at, settled_at=at):
        return False
    friend = session.get(Friend, trigger.friend_id)
    arrival = friend and pending_login(session, line_user_id=friend.line_user_id, now=at, settled_at=at)
    if not arrival:
        return False
    route = session.get(InflowRoute, arrival.route_id)
    return route is not None and not route.run_welcome_scenarios


def settle(
    session: Session,
    arrival: RouteArrival,
    *,
    friend: Friend,
    kind: str,
    now: datetime,
    reply_token: str | None = None,
) -> None:
    """Say what came of a login, mark the friend's first route, and run the route's actions (first add only:
    for a new friend, once per route; every time: once per arrival)."""
    arrival.friend_id, arrival.kind, arrival.settled_at = friend.id, kind, now
    arrival.first_route = _has_no_route_yet(session, friend.id, arrival.id)
    session.add(arrival)
    session.flush()
    route = session.get(InflowRoute, arrival.route_id)
    if route is None:
        return
    if route.action_timing == ActionTiming.EVERY_TIME:
        trigger_key = f"route_arrival:{arrival.id}"
    elif kind == ArrivalKind.NEW:
        trigger_key = f"route_first:{route.id}"
    else:
        return
    run_actions(
        session,
        friend_id=friend.id,
        actions=route_actions(route),
        trigger_key=trigger_key,
        source=f"{SOURCE}:{route.id}",
        reply_token=None if route.run_welcome_scenarios else reply_token,
    )


def _has_no_route_yet(session: Session, friend_id: int, arrival_id: int) -> bool:
    query = select(RouteArrival.id).where(
        RouteArrival.friend_id == friend_id, RouteArrival.first_route.is_(True), RouteArrival.id != arrival_id
    )
    return session.exec(query.limit(1)).first() is None
