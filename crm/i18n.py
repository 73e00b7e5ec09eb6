"""Japanese first, English available: Flask-Babel locale per staff member, times shown in Asia/Tokyo."""

from __future__ import annotations

from datetime import datetime

from flask import session
from flask_babel import format_datetime, gettext
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


def translate(msgid: str, params: dict | None = None) -> str:
    """Translate a msgid; nested errors and (msgid, params) pairs in the params are translated, times shown in Tokyo."""
    return gettext(msgid, **{key: _translated(value) for key, value in (params or {}).items()})


def _translated(value):
    if hasattr(value, "msgid"):
        return message_of(value)
    if isinstance(value, tuple):
        return translate(*value)
    if isinstance(value, datetime):
        return tokyo_datetime(value, "HH:mm")
    return value


def message_of(error) -> str:
    """The translated text of a domain error (a TranslatableError)."""
    return translate(error.msgid, error.params)


def messages_of(error) -> list[str]:
    """Every problem a domain error carries, translated (most carry one; rich menu checks carry several)."""
    return [translate(msgid, params) for msgid, params in getattr(error, "problems", [(error.msgid, error.params)])]
