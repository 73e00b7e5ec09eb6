"""Placeholders in message texts: `{name}` (the friend's display name) and `{field:key}` (a custom field).

The neutral form of address: when the name is unknown (no profile yet, or an empty one), `{name}` becomes the
neutral address (NEUTRAL_ADDRESS, 「お客様」 by default) and an honorific written right after the placeholder
is dropped with it, so 「{name}さん」 reads 「お客様」 and never 「さん」 or 「お客様さん」.
"""

from __future__ import annotations

import re

DEFAULT_NEUTRAL_ADDRESS = "お客様"
HONORIFICS = ("さん", "様", "さま", "サマ", "ちゃん", "くん", "君", "殿", "氏")
PLACEHOLDER = re.compile(
    r"\{(?:(?P<name>name)\}(?P<honorific>" + "|".join(HONORIFICS) + r")?|field:(?P<field>[a-z][a-z0-9_]{0,49})\})"
)


def has_placeholder(text: str) -> bool:
    """True when the text holds {name} or {field:key}."""
    return bool(PLACEHOLDER.search(text))


def field_keys_in(text: str) -> set[str]:
    """The custom field keys a text refers to."""
    return {match.group("field") for match in PLACEHOLDER.finditer(text) if match.group("field")}


def fill_placeholders(
    text: str, *, name: str | None, fields: dict[str, str], neutral_address: str | None = None
) -> str:
    """Replace {name} and {field:key} in one pass (a value that itself looks like a placeholder stays as is).

    An unknown field becomes ""; an unknown name becomes the neutral address, honorific included.
    """
    known_name = (name or "").strip()
    neutral = DEFAULT_NEUTRAL_ADDRESS if neutral_address is None else neutral_address

    def value(match: re.Match) -> str:
        if match.group("field"):
            return fields.get(match.group("field"), "")
        if known_name:
            return name + (match.group("honorific") or "")
        return neutral

    return PLACEHOLDER.sub(value, text)
