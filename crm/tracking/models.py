"""Click tracking (クリック計測): tracked links, per-friend tokens, clicks, and the on-click action queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow

DESTINATION_MAX_CHARS = 2000
TOKEN_MAX_CHARS = 32
USER_AGENT_MAX_CHARS = 200


class TrackedLink(SQLModel, table=True):
    """A destination URL tracked in one context (a broadcast, a rich menu, a survey), with an optional tag."""

    __tablename__ = "tracked_link"
    __table_args__ = (Index("ix_tracked_link_context", "broadcast_id", "source"),)

    id: int | None = Field(default=None, primary_key=True)
    destination: str = Field(max_length=DESTINATION_MAX_CHARS)
    source: str | None = Field(default=None, max_length=50)
    tag_id: int | None = Field(default=None, foreign_key="tag.id", ondelete="SET NULL")
    # The broadcasts table does not exist yet: a plain integer, no foreign key.
    broadcast_id: int | None = Field(default=None)
    scenario_variant_id: int | None = Field(default=None)  # a scenario step's variant (plain integer)
    # What a friend's click does: a JSON list in the action engine's format (None: nothing). A link made with
    # `tag_id` and no list adds that tag.
    actions: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A destination on a shop that counts conversions: a friend's click appends a signed click id to it.
    carries_click_id: bool = Field(default=False)
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class LinkToken(SQLModel, table=True):
    """The random token that stands for one tracked link sent to one friend, or to nobody in particular (no
    friend: a link everyone sees, such as a rich menu's URL area, counted without knowing who clicked)."""

    __tablename__ = "link_token"
    __table_args__ = (UniqueConstraint("link_id", "friend_id", name="uq_link_token_link_friend"),)

    token: str = Field(primary_key=True, max_length=TOKEN_MAX_CHARS)
    link_id: int = Field(foreign_key="tracked_link.id")
    friend_id: int | None = Field(default=None, foreign_key="friend.id", index=True)


class LinkClick(SQLModel, table=True):
    """One click on a tracked link. Append-only and written on the hot path, so no foreign keys (the
    redirect only writes ids it has just read from link_token; on PostgreSQL a foreign key would make every
    click of a burst share a lock on the same tracked_link row)."""

    __tablename__ = "link_click"
    __table_args__ = (
        Index("ix_link_click_link_friend", "link_id", "friend_id"),
        Index("ix_link_click_friend_clicked", "friend_id", "clicked_at"),
        Index("ix_link_click_broadcast_friend", "broadcast_id", "friend_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    link_id: int
    friend_id: int | None = Field(default=None)  # None: a click on an anonymous token
    broadcast_id: int | None = Field(default=None)
    clicked_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    user_agent: str | None = Field(default=None, max_length=USER_AGENT_MAX_CHARS)


class ClickAction(SQLModel, table=True):
    """A friend's click on a link with actions, queued by the redirect and run by the worker's tick through the
    action engine (the link's actions as they are then). The runs are keyed by the click, not by this row's id:
    SQLite hands a deleted row's id out again once the queue is empty."""

    __tablename__ = "click_action"

    id: int | None = Field(default=None, primary_key=True)
    link_id: int
    friend_id: int
    click_id: int | None = Field(default=None)  # the link_click row (None: queued before migration 0038)
    tag_id: int | None = Field(default=None)  # the link's tag when clicked, if it had one
    queued_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class TrackingCursor(SQLModel, table=True):
    """How far the worker has read an append-only table (link_click, for the link-clicked trigger)."""

    __tablename__ = "tracking_cursor"

    name: str = Field(primary_key=True, max_length=40)
    last_id: int = Field(default=0)
