"""A friend's clicks as other features show them: the friend page's clicks card and the API's friend detail.

Tracked links know the context they were sent in by number (a broadcast, a scenario step); the features owning
those contexts register how to name them (`register_context_names`), so the card says 「配信「冬のセール」」.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from sqlmodel import Session

from crm.db import get_session
from crm.errors import N_
from crm.i18n import translate
from crm.tracking import stats as click_stats
from crm.tracking.devices import device_summary
from crm.tracking.models import TrackedLink

FRIEND_PAGE_CLICKS = 50
NAMERS_KEY = "crm_click_context_names"

# Where a link was sent, in words (TrackedLink.source).
SOURCE_WORDS = {
    "broadcast": N_("Broadcast"),
    "richmenu": N_("Rich menu"),
    "survey": N_("Survey"),
    "chat": N_("Chat"),
    "template": N_("Template"),
    "scenario": N_("Scenario"),
}

# namer(session, ids) -> {id: name}
ContextNamer = Callable[[object, list[int]], dict[int, str]]


def register_context_names(app: Flask, context: str, namer: ContextNamer) -> None:
    """Let the clicks card name the contexts of this kind ("broadcast": the broadcast's name)."""
    app.extensions.setdefault(NAMERS_KEY, {})[context] = namer


def _context_names(session, clicks: list[dict]) -> dict[int, str]:
    namer = current_app.extensions.get(NAMERS_KEY, {}).get("broadcast")
    ids = sorted({click["broadcast_id"] for click in clicks if click["broadcast_id"]})
    return namer(session, ids) if namer and ids else {}


def friend_page_helpers() -> dict:
    """`friend_clicks(friend_id)` for the friend page's clicks section: each click with its context's name,
    its source in words and a device summary."""

    def clicks(friend_id: int) -> list[dict]:
        session = get_session()
        rows = click_stats.clicks_for_friend(session, friend_id, FRIEND_PAGE_CLICKS)
        names = _context_names(session, rows)
        return [
            {
                **row,
                "broadcast_name": names.get(row["broadcast_id"]),
                "source_words": SOURCE_WORDS.get((row["source"] or "").partition(":")[0]),
                "device": device_summary(row["user_agent"]),
            }
            for row in rows
        ]

    return {"friend_clicks": clicks}


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
