"""A friend's clicks as other features show them: the friend page's clicks card and the API's friend detail."""

from __future__ import annotations

from crm.db import get_session
from crm.tracking import stats as click_stats

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
