"""Test images built by hand: real PNGs, and JPEG headers with a start-of-frame segment."""

from __future__ import annotations

import os
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, *, padding: int = 0) -> bytes:
    """A valid grey PNG of this size; `padding` random bytes in an ancillary chunk make it bigger."""
    row = b"\x00" + b"\x80" * (width * 3)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    extra = _chunk(b"tEXt", b"pad\x00" + os.urandom(padding)) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + extra
        + _chunk(b"IDAT", zlib.compress(row * height, 9))
        + _chunk(b"IEND", b"")
    )


def jpeg(width: int, height: int) -> bytes:
    """JPEG markers up to a baseline start-of-frame: enough for the size check."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"
