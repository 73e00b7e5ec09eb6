"""User-facing service errors that the edge translates: services never import Flask-Babel."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation at the edge (pybabel extracts N_)."""
    return message


class TranslatableError(ValueError):
    """An error whose English msgid and parameters let the edge show it in the user's language."""

    def __init__(self, msgid: str, **params):
        super().__init__(msgid % params if params else msgid)
        self.msgid, self.params = msgid, params
