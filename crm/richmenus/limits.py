"""LINE's hourly limits on rich menus (100 creations, 100 deletions of menus and of aliases per hour).

Each limited call is counted in the database (in the transaction that records the action's outcome), and the
budget checked before an action starts, so the console can refuse with a clear message instead of failing
half-way; LINE's own 429 gives the same message."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from crm.errors import N_
from crm.line.errors import LineApiError
from crm.richmenus.layouts import RichMenuError
from crm.richmenus.models import RichMenuApiCall
from crm.timeutil import utcnow

HOURLY_LIMIT = 100
WINDOW = timedelta(hours=1)
CREATE, DELETE, ALIAS_DELETE = "create", "delete", "alias_delete"
RATE_MESSAGE = N_(
    "LINE allows only 100 rich menus to be created, and 100 deleted, per hour, and this hour's "
    "share is used up. Try again after %(time)s."
)
RATE_MESSAGE_LINE = N_(
    "LINE allows only 100 rich menus to be created, and 100 deleted, per hour, and LINE says "
    "this hour's share is used up. Try again later."
)


class RateLimited(RichMenuError):
    """LINE's hourly limit for creating or deleting rich menus is reached (retry_at: when, if known)."""

    def __init__(self, retry_at: datetime | None):
        if retry_at is None:
            super().__init__(RATE_MESSAGE_LINE)
        else:
            super().__init__(RATE_MESSAGE, time=retry_at)
        self.retry_at = retry_at


def calls_in_window(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Rate-limited calls made in the last hour, by endpoint."""
    since = (now or utcnow()) - WINDOW
    rows = session.exec(
        select(RichMenuApiCall.endpoint, func.count())
        .where(RichMenuApiCall.at > since)
        .group_by(RichMenuApiCall.endpoint)
    ).all()
    return dict(rows)


def check_budget(session: Session, *, now: datetime, **needed: int) -> None:
    """Raise RateLimited unless each endpoint has room for the calls needed within the last hour."""
    used = calls_in_window(session, now=now)
    for endpoint, count in needed.items():
        if count and used.get(endpoint, 0) + count > HOURLY_LIMIT:
            oldest = session.exec(
                select(func.min(RichMenuApiCall.at)).where(
                    RichMenuApiCall.endpoint == endpoint, RichMenuApiCall.at > now - WINDOW
                )
            ).one()
            raise RateLimited(oldest + WINDOW if oldest else None)


def count_calls(session: Session, endpoints: list[str]) -> None:
    """Record limited calls once they were made, failed ones too (LINE counts them): the calls are made first,
    with no write transaction open, and counted in the transaction that records their outcome."""
    now = utcnow()
    session.add_all([RichMenuApiCall(endpoint=endpoint, at=now) for endpoint in endpoints])
    session.flush()


@contextmanager
def line_call() -> Iterator[None]:
    """Turn LINE's errors into RichMenuError; 429 becomes the rate-limit message."""
    try:
        yield
    except LineApiError as error:
        if error.status == 429:
            raise RateLimited(None) from error
        raise RichMenuError(N_("LINE refused the request: %(reason)s"), reason=str(error)) from error
