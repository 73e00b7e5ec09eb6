"""Rich menus (リッチメニュー): the builder's drafts, their images, tag rules, and what the CRM linked on LINE."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, LargeBinary, Text
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class RichMenuStatus(StrEnum):
    """Values of RichMenu.status."""

    DRAFT = "draft"
    PUBLISHED = "published"


class RichMenu(SQLModel, table=True):
    """A rich menu as built in the console; line_menu_id is the live LINE menu while published."""

    __tablename__ = "rich_menu"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=300)
    chat_bar_text: str = Field(max_length=14)
    size: str = Field(max_length=8)
    layout: str = Field(max_length=30)
    areas: str = Field(sa_column=Column(Text, nullable=False))
    selected: bool = Field(default=False)
    alias_id: str | None = Field(default=None, max_length=32, unique=True)
    status: str = Field(default=RichMenuStatus.DRAFT, max_length=12)
    is_default: bool = Field(default=False)
    revision: int = Field(default=1)
    published_revision: int | None = Field(default=None)
    line_menu_id: str | None = Field(default=None, max_length=64, unique=True)
    published_alias_id: str | None = Field(default=None, max_length=32)
    published_at: datetime | None = utc_field()
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class RichMenuImage(SQLModel, table=True):
    """The image of a rich menu (JPEG or PNG, at most 1 MB), kept in the database."""

    __tablename__ = "rich_menu_image"

    rich_menu_id: int = Field(
        sa_column=Column(Integer, ForeignKey("rich_menu.id", ondelete="CASCADE"), primary_key=True)
    )
    content_type: str = Field(max_length=20)
    width: int
    height: int
    byte_size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class RichMenuRule(SQLModel, table=True):
    """ "Friends with this tag get this menu"; rules are ordered by position and the first match wins."""

    __tablename__ = "rich_menu_rule"

    id: int | None = Field(default=None, primary_key=True)
    position: int = Field(default=0)
    tag_id: int = Field(
        sa_column=Column(Integer, ForeignKey("tag.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    rich_menu_id: int = Field(
        sa_column=Column(Integer, ForeignKey("rich_menu.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class RichMenuLink(SQLModel, table=True):
    """A per-user menu the CRM linked to a friend on LINE (unpublishing unlinks exactly these)."""

    __tablename__ = "rich_menu_link"
    __table_args__ = (Index("ix_rich_menu_link_menu_friend", "rich_menu_id", "friend_id"),)

    friend_id: int = Field(sa_column=Column(Integer, ForeignKey("friend.id", ondelete="CASCADE"), primary_key=True))
    rich_menu_id: int = Field(foreign_key="rich_menu.id")
    line_menu_id: str = Field(max_length=64)
    linked_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class RichMenuRelink(SQLModel, table=True):
    """A friend whose tags (or the rules) changed, waiting for the tag rules to be applied on LINE; or, with
    `rich_menu_id`, a friend an action links to that menu (until the rules are next applied to them)."""

    __tablename__ = "rich_menu_relink"

    id: int | None = Field(default=None, primary_key=True)
    friend_id: int = Field(
        sa_column=Column(Integer, ForeignKey("friend.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    rich_menu_id: int | None = Field(default=None)  # a menu chosen by an action (plain integer)
    queued_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class RichMenuApiCall(SQLModel, table=True):
    """A call to a LINE rich-menu endpoint limited to 100 an hour (create, delete, delete alias)."""

    __tablename__ = "rich_menu_api_call"
    __table_args__ = (Index("ix_rich_menu_api_call_endpoint_at", "endpoint", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    endpoint: str = Field(max_length=20)
    at: datetime = utc_field(nullable=False, default_factory=utcnow)
