"""The auto-replies' domain error."""

from __future__ import annotations

from crm.errors import TranslatableError


class AutoReplyError(TranslatableError):
    """A rule that cannot be saved or changed as asked."""
