"""The error of content that cannot be sent, naming the message and the part at fault."""

from __future__ import annotations

from crm.errors import TranslatableError


class Part:
    """A translatable phrase (msgid and params) used inside an error message, e.g. "card 2, button 3"."""

    def __init__(self, msgid: str, **params):
        self.msgid, self.params = msgid, params

    def __str__(self) -> str:
        return self.msgid % {key: str(value) for key, value in self.params.items()} if self.params else self.msgid

    def __eq__(self, other) -> bool:
        return isinstance(other, Part) and (self.msgid, self.params) == (other.msgid, other.params)

    __hash__ = None


class ContentError(TranslatableError):
    """Messages that cannot be sent; `.index` is the 0-based message at fault (None: the list itself)."""

    def __init__(self, msgid: str, *, index: int | None = None, **params):
        super().__init__(msgid, **params)
        self.index = index
