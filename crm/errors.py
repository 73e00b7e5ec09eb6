"""User-facing service errors that the edge translates: services never import Flask-Babel."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation at the edge (pybabel extracts N_)."""
    return message


class TranslatableError(ValueError):
    """An error whose English msgid and parameters let the edge show it in the user's language.

    `field` names the form field it concerns (None: the form as a whole); `code` is the stable name the API
    answers with ("not_found" and "conflict" become 404 and 409, anything else 422).
    """

    field: str | None = None
    code: str = "invalid"

    def __init__(self, msgid: str, **params):
        super().__init__(msgid % params if params else msgid)
        self.msgid, self.params = msgid, params
