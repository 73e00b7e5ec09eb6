"""The surveys' error type: a msgid and params, translated at the edge."""

from __future__ import annotations

from crm.errors import TranslatableError


class SurveyError(TranslatableError):
    """Something a survey, question or answer cannot be; `field` names the form field it concerns."""

    def __init__(self, msgid: str, *, field: str | None = None, **params):
        super().__init__(msgid, **params)
        self.field = field
