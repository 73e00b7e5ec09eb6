"""Helpers for the template tests: real JPEG and PNG images made with Pillow."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(size: tuple[int, int] = (640, 480), kind: str = "JPEG", color=(250, 200, 120), mode="RGB") -> bytes:
    """A real image of this size and format."""
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, kind)
    return buffer.getvalue()


def noisy_jpeg(size: tuple[int, int]) -> bytes:
    """A JPEG that compresses badly (random pixels), to reach large byte sizes with few pixels."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, bytes((i * 7919) % 251 for i in range(size[0] * size[1] * 3))).save(
        buffer, "JPEG", quality=100
    )
    return buffer.getvalue()
