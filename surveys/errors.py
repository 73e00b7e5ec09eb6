"""The surveys' error type: a msgid and params, translated at the edge."""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation at the edge (pybabel extracts N_)."""
    return message


class SurveyError(ValueError):
    """Something a survey, question or answer cannot be; `field` names the form field it concerns."""

    def __init__(self, msgid: str, *, field: str | None = None, **params):
        super().__init__(msgid % params if params else msgid)
        self.msgid, self.params, self.field = msgid, params, field
