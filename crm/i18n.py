"""Japanese first, English available: Flask-Babel locale per staff member, times shown in Asia/Tokyo."""

from __future__ import annotations

from flask import session
from flask_babel import format_datetime
from flask_login import current_user

LOCALES = ("ja", "en")
DEFAULT_LOCALE = "ja"


def select_locale() -> str:
    """The signed-in staff member's language, else the one chosen in this browser session, else Japanese."""
    if getattr(current_user, "is_authenticated", False) and current_user.locale in LOCALES:
        return current_user.locale
    chosen = session.get("locale")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def tokyo_datetime(value, pattern: str = "yyyy/MM/dd HH:mm") -> str:
    """Format an aware UTC datetime in Asia/Tokyo."""
    return "" if value is None else format_datetime(value, pattern)
