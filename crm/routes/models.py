"""Inflow routes (流入経路): the routes, each visit of a route's URL, and each arrival a LINE Login attributed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class ActionTiming(StrEnum):
    """When a route's actions run."""

    FIRST_ADD = "first_add"  # only when the friend is added to the account for the first time through it
    EVERY_TIME = "every_time"  # every time the route is used (an add, an unblock, a friend passing through)


class ArrivalKind(StrEnum):
    """What came of a login through a route (RouteArrival.kind)."""

    LOGIN = "login"  # logged in, no follow (yet): counted as a login only
    NEW = "new"  # added the account for the first time
    RETURNING = "returning"  # added again (they had added it before, without LINE saying unblocked)
    UNBLOCKED = "unblocked"  # added after blocking (LINE's follow.isUnblocked)
    EXISTING = "existing"  # already a friend when they came through the route


ADDED_KINDS = (ArrivalKind.NEW, ArrivalKind.RETURNING, ArrivalKind.UNBLOCKED)


class InflowRoute(SQLModel, table=True):
    """One route: its public URL /i/<code> and QR code, and what happens to friends who come through it."""

    __tablename__ = "inflow_route"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    folder: str | None = Field(default=None, max_length=60)
    code: str = Field(max_length=32, unique=True)
    actions: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list run on arrival
    action_timing: str = Field(default=ActionTiming.FIRST_ADD, max_length=12)
    run_welcome_scenarios: bool = Field(default=True)  # the account's friend-added scenarios run too
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class RouteVisit(SQLModel, table=True):
    """One opening of /i/<code>. With LINE Login, `state` and `nonce` are the single-use values sent to LINE
    (`used_at` set when the callback claims them); nothing about the visitor is stored."""

    __tablename__ = "route_visit"
    __table_args__ = (Index("ix_route_visit_route_at", "route_id", "visited_at"),)

    id: int | None = Field(default=None, primary_key=True)
    route_id: int = Field(foreign_key="inflow_route.id")
    visited_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    state: str | None = Field(default=None, max_length=64, unique=True)
    nonce: str | None = Field(default=None, max_length=64)
    used_at: datetime | None = utc_field()


class RouteArrival(SQLModel, table=True):
    """A verified LINE Login through a route: who (the LINE user id, then the friend), and what came of it.

    A login waits (`settled_at` empty) for the friend's follow for a while; the follow, or the login of someone
    already a friend, settles it with its kind and runs the route's actions. `first_route` marks the friend's
    first attributed route (segments: "came first through route X")."""

    __tablename__ = "route_arrival"
    __table_args__ = (
        Index("ix_route_arrival_route_at", "route_id", "logged_in_at"),
        Index("ix_route_arrival_friend", "friend_id", "route_id"),
        Index("ix_route_arrival_user_pending", "line_user_id", "settled_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    route_id: int = Field(foreign_key="inflow_route.id")
    visit_id: int = Field(foreign_key="route_visit.id", unique=True)
    line_user_id: str = Field(max_length=64)
    friend_id: int | None = Field(default=None, foreign_key="friend.id")
    kind: str = Field(default=ArrivalKind.LOGIN, max_length=12)
    first_route: bool = Field(default=False)
    logged_in_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    settled_at: datetime | None = utc_field()
