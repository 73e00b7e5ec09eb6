"""Where a message's personal pieces sit: the texts placeholders may fill and the actions links may track.

One walk over LINE's shapes (text, buttons, confirm, carousel, image carousel) shared by validation, the
push-or-multicast choice and per-friend rendering, so they never disagree about what a message contains.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

ALT_TEXT_MAX = 400  # a template message's altText
TITLE_MAX = 40
TEMPLATE_TEXT_MAX = {"buttons": (160, 60), "carousel": (120, 60), "confirm": (240, 240)}  # (plain, with title/image)


@dataclass(frozen=True)
class TextSlot:
    """A text of a message that placeholders may fill, with the length LINE allows there (UTF-16 units)."""

    holder: dict
    key: str
    limit: int


def columns(template: dict) -> list[dict]:
    """A template's columns: the template itself for buttons and confirm, its columns for carousels."""
    if template.get("type") in ("carousel", "image_carousel"):
        found = template.get("columns")
        return [column for column in found if isinstance(column, dict)] if isinstance(found, list) else []
    return [template]


def template_of(message: dict) -> dict | None:
    """The template object of a template message, else None."""
    template = message.get("template") if message.get("type") == "template" else None
    return template if isinstance(template, dict) else None


def text_limit(kind: str, column: dict) -> int:
    """The longest text a buttons/confirm template or carousel column may have."""
    plain, short = TEMPLATE_TEXT_MAX.get(kind, (160, 60))
    return short if column.get("title") or column.get("thumbnailImageUrl") else plain


def text_slots(message: dict, *, text_max: int) -> Iterator[TextSlot]:
    """The texts placeholders may fill: a text message's text; a template's altText, titles and texts."""
    if message.get("type") == "text" and isinstance(message.get("text"), str):
        yield TextSlot(message, "text", text_max)
        return
    template = template_of(message)
    if template is None:
        return
    if isinstance(message.get("altText"), str):
        yield TextSlot(message, "altText", ALT_TEXT_MAX)
    kind = template.get("type")
    for column in columns(template) if kind != "image_carousel" else []:
        if isinstance(column.get("title"), str):
            yield TextSlot(column, "title", TITLE_MAX)
        if isinstance(column.get("text"), str):
            yield TextSlot(column, "text", text_limit(kind, column))


def actions(message: dict) -> Iterator[dict]:
    """Every action object of a template message: buttons, default actions, image carousel actions."""
    template = template_of(message)
    if template is None:
        return
    for column in columns(template):
        for key in ("action", "defaultAction"):
            if isinstance(column.get(key), dict):
                yield column[key]
        for action in column.get("actions") if isinstance(column.get("actions"), list) else []:
            if isinstance(action, dict):
                yield action


def tracked_uri_actions(message: dict) -> Iterator[dict]:
    """The uri actions whose http(s) destination can be tracked per friend."""
    for action in actions(message):
        uri = action.get("uri")
        if action.get("type") == "uri" and isinstance(uri, str) and uri.lower().startswith(("http://", "https://")):
            yield action
