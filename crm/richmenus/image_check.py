"""Rich menu image checks done before LINE is called: type by magic bytes, size in bytes and pixels (Pillow)."""

from __future__ import annotations

from dataclasses import dataclass

from crm.errors import N_
from crm.message_templates.image_files import CONTENT_TYPES, decode_image, image_format, open_image
from crm.richmenus.layouts import RichMenuError

MAX_IMAGE_BYTES = 1024 * 1024
MIN_WIDTH, MAX_WIDTH, MIN_HEIGHT, MIN_RATIO = 800, 2500, 250, 1.45


@dataclass(frozen=True)
class CheckedImage:
    """An image LINE will accept for a menu of its size."""

    data: bytes
    content_type: str
    width: int
    height: int


def rule_problems(width: int, height: int, expected: tuple[int, int]) -> list[tuple[str, dict]]:
    """LINE's size rules and the menu's own size, as (msgid, params) problems."""
    problems = []
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        problems.append((N_("The image is %(width)d pixels wide; LINE needs 800 to 2500."), {"width": width}))
    if height < MIN_HEIGHT:
        problems.append((N_("The image is %(height)d pixels high; LINE needs at least 250."), {"height": height}))
    if height and width / height < MIN_RATIO:
        problems.append(
            (N_("The image's width ÷ height is %(ratio).3f; LINE needs at least 1.45."), {"ratio": width / height})
        )
    if (width, height) != expected:
        problems.append(
            (
                N_(
                    "The image is %(width)d × %(height)d but this menu's size is %(expected_width)d × "
                    "%(expected_height)d. Use an image of exactly that size, or change the menu's size."
                ),
                {"width": width, "height": height, "expected_width": expected[0], "expected_height": expected[1]},
            )
        )
    return problems


def check_image(data: bytes, *, expected: tuple[int, int]) -> CheckedImage:
    """Accept a JPEG or PNG of at most 1 MB that meets LINE's rules and is exactly `expected` in size."""
    if not data:
        raise RichMenuError(N_("Choose an image file to upload."))
    kind = image_format(data)
    if kind is None:
        raise RichMenuError(
            N_("Only JPEG and PNG images can be used, and this file is neither (whatever its name says).")
        )
    if len(data) > MAX_IMAGE_BYTES:
        raise RichMenuError(
            N_("The image is %(bytes)s bytes; LINE accepts at most 1 MB (1,048,576 bytes)."), bytes=f"{len(data):,}"
        )
    image = open_image(data, kind, RichMenuError)
    with image:
        width, height = image.size
        problems = rule_problems(width, height, expected)
        if problems:
            raise RichMenuError.many(problems)
        decode_image(image, kind, RichMenuError)
    return CheckedImage(data=data, content_type=CONTENT_TYPES[kind], width=width, height=height)
