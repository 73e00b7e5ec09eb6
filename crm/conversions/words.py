"""Conversions in words: the action history's source, the audit log's targets."""

from __future__ import annotations

from sqlmodel import Session

from crm.conversions.models import ConversionPoint
from crm.errors import N_
from crm.i18n import translate


def point_source(session: Session, point_id: int) -> str:
    """「コンバージョン「購入」」 in the friend's action history."""
    point = session.get(ConversionPoint, point_id)
    name = point.name if point is not None else f"#{point_id}"
    return translate(N_("Conversion “%(name)s”"), {"name": name})
