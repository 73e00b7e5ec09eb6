"""Cards features add to the home page (the dashboard), so the console shell knows no feature: each card is a
template and a loader `load(session, now) -> dict` the template reads as `card`, shown to roles holding its
permission."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from sqlmodel import Session

from crm.permissions import can

CARDS_KEY = "crm_home_cards"


@dataclass(frozen=True)
class HomeCard:
    template: str
    load: Callable[[Session, datetime], dict]
    permission: str


def register_home_card(
    app: Flask, template: str, load: Callable[[Session, datetime], dict], *, permission: str = "home.view"
) -> None:
    """Show template on the home page, after today's figures, in registration order."""
    app.extensions.setdefault(CARDS_KEY, []).append(HomeCard(template, load, permission))


def home_cards(app: Flask, session: Session, now: datetime, *, role: str) -> list[tuple[str, dict]]:
    """(template, card) of every registered card the role may see."""
    return [
        (card.template, card.load(session, now))
        for card in app.extensions.get(CARDS_KEY, [])
        if can(role, card.permission)
    ]
