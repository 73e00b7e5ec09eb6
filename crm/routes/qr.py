"""A route's QR code for print, made with segno: PNG (raster, large enough for flyers) and SVG (vector)."""

from __future__ import annotations

import io

import segno

PNG_SCALE = 10  # pixels per module: a 25-module code with its quiet zone is about 330 px
ERROR_CORRECTION = "m"  # survives a smudge or a fold in print


def qr_png(url: str) -> bytes:
    """The URL's QR code as a PNG."""
    buffer = io.BytesIO()
    segno.make(url, error=ERROR_CORRECTION, micro=False).save(buffer, kind="png", scale=PNG_SCALE, border=4)
    return buffer.getvalue()


def qr_svg(url: str) -> bytes:
    """The URL's QR code as a standalone SVG document (scaled freely in print)."""
    buffer = io.BytesIO()
    segno.make(url, error=ERROR_CORRECTION, micro=False).save(
        buffer, kind="svg", scale=PNG_SCALE, border=4, xmldecl=True, title="QR"
    )
    return buffer.getvalue()
