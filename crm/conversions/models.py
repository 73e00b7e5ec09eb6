"""Conversions (コンバージョン): points a shop counts, the conversions recorded on them, and RFM scores."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow

NAME_MAX_CHARS = 100
ORDER_ID_MAX_CHARS = 100
MAX_VALUE_YEN = 100_000_000  # one conversion's value: a typo guard, not a business rule


class ValueType(StrEnum):
    """What a conversion's value means."""

    NONE = "none"  # a count only (a sign-up, a booking)
    YEN = "yen"  # a purchase amount in yen: counted in value, RFM and deciles


class Counting(StrEnum):
    """Which of a friend's conversions on a point count."""

    FIRST = "first"  # the first only (later ones are answered with the first)
    EVERY = "every"  # every one (each order id once)


class Source(StrEnum):
    """How a conversion came in."""

    LINK = "link"  # the /cv.js script on the shop's thank-you page
    API = "api"  # server to server
    IMPORT = "import"  # a purchases CSV


class ConversionPoint(SQLModel, table=True):
    """Something a shop counts as a conversion: a purchase, a booking, a sign-up."""

    __tablename__ = "conversion_point"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=NAME_MAX_CHARS, unique=True)
    value_type: str = Field(default=ValueType.YEN, max_length=8)
    counting: str = Field(default=Counting.EVERY, max_length=8)
    # The shop's origins (https://shop.example), one a line: /cv.js may report from them (CORS), and tracked
    # links to them carry a click id.
    allowed_origins: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    actions: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))  # the engine's format
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class Conversion(SQLModel, table=True):
    """One recorded conversion of one friend on one point, with where it came from."""

    __tablename__ = "conversion"
    __table_args__ = (
        UniqueConstraint("point_id", "order_id", name="uq_conversion_point_order"),
        # first-only points: first_key is the friend id, so a friend converts once even from two requests at once
        UniqueConstraint("point_id", "first_key", name="uq_conversion_point_first"),
        Index("ix_conversion_friend_occurred", "friend_id", "occurred_at"),
        Index("ix_conversion_point_occurred", "point_id", "occurred_at"),
        Index("ix_conversion_broadcast", "broadcast_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    point_id: int = Field(foreign_key="conversion_point.id")
    friend_id: int = Field(foreign_key="friend.id")
    value: int | None = Field(default=None)  # yen (None on a point without a value)
    order_id: str | None = Field(default=None, max_length=ORDER_ID_MAX_CHARS)
    first_key: int | None = Field(default=None)
    occurred_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    recorded_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    source: str = Field(max_length=8)
    # Attribution from a click id: the click, its link and the link's broadcast (plain integers, no keys)
    click_id: int | None = Field(default=None)
    link_id: int | None = Field(default=None)
    broadcast_id: int | None = Field(default=None)


class RfmScore(SQLModel, table=True):
    """A friend's purchase figures and their quintile scores (5 best), and the value decile (1 = top 10 %),
    recomputed from conversions with a yen value by the worker."""

    __tablename__ = "rfm_score"
    __table_args__ = (Index("ix_rfm_score_rf", "recency_score", "frequency_score"), Index("ix_rfm_decile", "decile"))

    friend_id: int = Field(primary_key=True, foreign_key="friend.id")
    last_purchase_at: datetime = utc_field(nullable=False)
    frequency: int
    monetary: int
    recency_score: int
    frequency_score: int
    monetary_score: int
    decile: int
    computed_at: datetime = utc_field(nullable=False, default_factory=utcnow)
