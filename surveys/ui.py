"""Turning survey errors into the reader's language (edges only)."""

from __future__ import annotations

from flask_babel import gettext as _


def message_of(error) -> str:
    """The translated text of a SurveyError (or a field error) with translated nested errors."""
    params = {
        key: message_of(value) if hasattr(value, "msgid") else value
        for key, value in getattr(error, "params", {}).items()
    }
    return _(error.msgid, **params) if params else _(error.msgid)
