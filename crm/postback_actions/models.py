"""Stored action lists a rich-menu area or a template button runs when tapped, and each friend's tap."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class PostbackActionList(SQLModel, table=True):
    """A list of actions behind a button; LINE carries only its signed reference as postback data.

    `owner_type` and `owner_id` name what holds the button ("richmenu" and the menu id, "template" and the
    template id) and `place` where in it ("3" for area 3, "1-2-1" for message 1, card 2, button 1), so the
    friend's history can say which button ran the actions."""

    __tablename__ = "postback_action_list"
    __table_args__ = (Index("ix_postback_action_list_owner", "owner_type", "owner_id"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_type: str = Field(max_length=20)
    owner_id: int | None = Field(default=None)
    place: str = Field(default="", max_length=20)
    actions: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of validated actions
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class PostbackTap(SQLModel, table=True):
    """One tap a friend made on a button with actions: one row per webhook event (a redelivery adds none)."""

    __tablename__ = "postback_tap"
    __table_args__ = (Index("ix_postback_tap_list_at", "action_list_id", "tapped_at"),)

    id: int | None = Field(default=None, primary_key=True)
    action_list_id: int = Field(
        sa_column=Column(Integer, ForeignKey("postback_action_list.id", ondelete="CASCADE"), nullable=False)
    )
    friend_id: int = Field(foreign_key="friend.id")
    event_key: str = Field(max_length=120, unique=True)
    tapped_at: datetime = utc_field(nullable=False, default_factory=utcnow)
