"""Reading an uploaded JPEG or PNG safely: the type by its first bytes, every pixel decoded once (Pillow).

Shared by the rich menu images and the images of message templates; each passes its own error class.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from crm.errors import N_, TranslatableError

MAGIC = {"PNG": b"\x89PNG\r\n\x1a\n", "JPEG": b"\xff\xd8\xff"}
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}


def image_format(data: bytes) -> str | None:
    """PNG or JPEG by the file's first bytes (never by its name), else None."""
    return next((kind for kind, magic in MAGIC.items() if data.startswith(magic)), None)


def open_image(data: bytes, kind: str, error: type[TranslatableError]) -> Image.Image:
    """Open the image's header (sizes are known, pixels not decoded yet); raise `error` when unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=[kind])
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning) as caught:
        raise error(N_("The file starts like a %(kind)s image but cannot be read as one."), kind=kind) from caught


def decode_image(image: Image.Image, kind: str, error: type[TranslatableError]) -> None:
    """Decode every pixel once, so a damaged or cut-off file is refused here rather than shown broken."""
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as caught:
        raise error(N_("The %(kind)s image is damaged or incomplete."), kind=kind) from caught
