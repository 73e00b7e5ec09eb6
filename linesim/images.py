"""Rich menu image checks (dimensions read from the PNG IHDR or JPEG SOF header: Pillow isn't installed), and the
sample photo simulated users send."""

from __future__ import annotations

import struct
import zlib

from linesim.errors import LineError

MAX_IMAGE_BYTES = 1024 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
STANDALONE_MARKERS = {0x01, *range(0xD0, 0xDA)}
SAMPLE_PHOTO_SIZE = (320, 240)


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG's first start-of-frame segment."""
    index = 2
    while index + 4 <= len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker in STANDALONE_MARKERS:
            index += 2
            continue
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        if marker in SOF_MARKERS and index + 9 <= len(data):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None


def image_size(data: bytes, content_type: str) -> tuple[int, int]:
    """The image's (width, height); 415 for other types, 400 when the bytes aren't the declared type."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "image/png":
        size = png_size(data) if data.startswith(PNG_MAGIC) else None
    elif media_type in ("image/jpeg", "image/jpg"):
        size = jpeg_size(data) if data.startswith(JPEG_MAGIC) else None
    else:
        raise LineError(415, "Unsupported media type")
    if size is None:
        raise LineError(400, f"The image is not a valid {media_type.split('/')[1].upper()} image")
    return size


def check_rich_menu_image(data: bytes, content_type: str, menu_size: dict) -> None:
    """LINE's rules: JPEG or PNG, at most 1 MB, 800-2500 wide, 250+ high, ratio >= 1.45, the menu's size."""
    if len(data) > MAX_IMAGE_BYTES:
        raise LineError(413, "The image is larger than 1 MB")
    width, height = image_size(data, content_type)
    problems = []
    if not 800 <= width <= 2500:
        problems.append("Image width must be between 800 and 2500 pixels")
    if height < 250:
        problems.append("Image height must be at least 250 pixels")
    if width / max(height, 1) < 1.45:
        problems.append("Image aspect ratio (width / height) must be at least 1.45")
    if (width, height) != (menu_size.get("width"), menu_size.get("height")):
        problems.append(
            f"Image size {width}x{height} must match the rich menu size "
            f"{menu_size.get('width')}x{menu_size.get('height')}"
        )
    if problems:
        details = [{"message": message, "property": "image"} for message in problems]
        raise LineError(400, "The image doesn't meet the requirements", details=details)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def sample_photo() -> bytes:
    """A small PNG "photo" (a sky-to-grass gradient) a simulated user sends when no image is given."""
    width, height = SAMPLE_PHOTO_SIZE
    rows = []
    for y in range(height):
        colour = bytes((120, 180, 240)) if y < height * 2 // 3 else bytes((90, 170, 80))
        rows.append(b"\x00" + colour * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_MAGIC
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _png_chunk(b"IEND", b"")
    )
