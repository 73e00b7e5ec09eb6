"""A friend's conversions as the friend page and the friend API show them."""

from __future__ import annotations

from sqlmodel import Session

from crm.conversions import attribution, figures
from crm.db import get_session
from crm.timeutil import to_tokyo


def page_helpers() -> dict:
    """Names the friend page's conversions card uses."""
    return {
        "friend_conversions": lambda friend_id: figures.friend_conversions(get_session(), friend_id),
        "friend_conversion_totals": lambda friend_id: figures.friend_totals(get_session(), friend_id),
    }


def friend_detail(session: Session, friend_id: int, *, masked: bool, limit: int) -> dict:
    """The API's friend detail key "conversions": totals and the latest ones (order ids hidden when masked)."""
    totals = figures.friend_totals(session, friend_id)
    latest = [
        {
            "point": row["point"],
            "value": row["value"],
            "order_id": None if masked else row["order_id"],
            "source": row["source"],
            "occurred_at": to_tokyo(row["occurred_at"]).isoformat(),
        }
        for row in figures.friend_conversions(session, friend_id, limit=limit)
    ]
    return {"count": totals.conversions, "value": totals.value, "latest": latest}


def stats_helpers() -> dict:
    """The name the statistics pages' conversions card uses (a broadcast id, else a scenario id)."""

    def conversion_figures(broadcast_id: int | None, scenario_id: int | None):
        if broadcast_id is not None:
            return attribution.broadcast_figures(get_session(), broadcast_id)
        return attribution.scenario_figures(get_session(), scenario_id) if scenario_id is not None else None

    return {"conversion_figures": conversion_figures}
