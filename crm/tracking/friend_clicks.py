"""A friend's clicks as other features show them: the friend page's clicks card and the API's friend detail."""

from __future__ import annotations

from sqlmodel import Session

from crm.db import get_session
from crm.errors import N_
from crm.i18n import translate
from crm.tracking import stats as click_stats
from crm.tracking.models import TrackedLink

FRIEND_PAGE_CLICKS = 50


def friend_page_helpers() -> dict:
    """`friend_clicks(friend_id)` for the friend page's clicks section."""
    return {
        "friend_clicks": lambda friend_id: click_stats.clicks_for_friend(get_session(), friend_id, FRIEND_PAGE_CLICKS)
    }


def friend_clicks(session, friend_id: int, *, masked: bool, limit: int) -> list[dict]:
    """`clicks` of the API's friend detail: the latest clicks; user agents are hidden from masked roles."""
    return [
        {**click, "user_agent": None if masked else click["user_agent"]}
        for click in click_stats.clicks_for_friend(session, friend_id, limit=limit)
    ]


def link_source(session: Session, link_id: int) -> str:
    """The history's words for actions a click ran ("link:<id>"): 「リンク「…」のクリック」."""
    link = session.get(TrackedLink, link_id)
    destination = link.destination if link else translate(N_("(deleted link)"))
    return translate(N_("Click on link “%(destination)s”"), {"destination": destination[:80]})
