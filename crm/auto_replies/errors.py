"""The auto-replies' domain error."""

from __future__ import annotations

from crm.errors import TranslatableError


class AutoReplyError(TranslatableError):
    """A rule that cannot be saved or changed as asked; `field` names the form field it concerns (or None)."""

    def __init__(self, msgid: str, *, field: str | None = None, **params):
        super().__init__(msgid, **params)
        self.field = field
        self.code = "not_found" if field == "not_found" else "invalid"
