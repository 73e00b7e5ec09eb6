"""LINE's stickers: the public image of a sticker, and the standard stickers any official account may send
(LINE's "List of available stickers" for the Messaging API), a small curated choice for the composers."""

from __future__ import annotations

# LINE's public sticker images (the stickers' own shop pages use it); the console's CSP allows https images.
STICKER_IMAGE_URL = "https://stickershop.line-scdn.net/stickershop/v1/sticker/{sticker_id}/android/sticker.png"

# (package id, first sticker id, how many): runs of consecutive ids in LINE's standard packages.
STANDARD_RUNS = (
    ("446", 1988, 12),
    ("789", 10855, 12),
    ("11537", 52002734, 12),
    ("11538", 51626494, 12),
)


def image_url(sticker_id: str) -> str:
    return STICKER_IMAGE_URL.format(sticker_id=sticker_id)


def standard_stickers() -> list[tuple[str, str]]:
    """(package id, sticker id) of the curated standard stickers, in the order the picker shows them."""
    return [(package, str(first + offset)) for package, first, count in STANDARD_RUNS for offset in range(count)]


def sticker_value(package_id: str, sticker_id: str) -> str:
    """A picker's value for one sticker, "package:sticker"."""
    return f"{package_id}:{sticker_id}"


def parse_sticker_value(value: str | None) -> tuple[str, str]:
    """(package id, sticker id) of a picker's value ("" for both when none or malformed)."""
    package_id, _colon, sticker_id = (value or "").partition(":")
    return (package_id, sticker_id) if sticker_id else ("", "")
