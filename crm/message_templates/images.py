"""Images uploaded for messages: checked (JPEG or PNG, ≤ 10 MB, real pixels, sane dimensions), a preview made
within LINE's preview limits, stored once per content (the key is the content's SHA-256)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from crm.errors import N_, TranslatableError
from crm.message_templates import media
from crm.message_templates.image_files import CONTENT_TYPES, decode_image, image_format, open_image
from crm.message_templates.models import UploadedImage

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # LINE's limit for an image message's original
MAX_SIDE = 10000  # no phone photo comes near; a bigger picture is a decompression bomb or a mistake
MAX_PIXELS = 50_000_000  # decoded, that is 150 MB of memory already
PREVIEW_MAX_SIDE = 240  # LINE's documented preview size
PREVIEW_MAX_BYTES = 1024 * 1024  # LINE's limit for previewImageUrl
NAME_MAX = 200


class ImageUploadError(TranslatableError):
    """An upload that cannot be used as a message image."""

    field = "image"


@dataclass(frozen=True)
class CheckedUpload:
    """An uploaded image LINE will accept, with its preview."""

    data: bytes
    content_type: str
    width: int
    height: int
    preview: bytes


def check_upload(data: bytes) -> CheckedUpload:
    """Accept a JPEG or PNG of at most 10 MB whose every pixel decodes; make its preview."""
    if not data:
        raise ImageUploadError(N_("Choose an image file to upload."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageUploadError(
            N_("The image is %(bytes)s bytes; LINE accepts at most 10 MB (10,485,760 bytes)."), bytes=f"{len(data):,}"
        )
    kind = image_format(data)
    if kind is None:
        raise ImageUploadError(
            N_("Only JPEG and PNG images can be used, and this file is neither (whatever its name says).")
        )
    with open_image(data, kind, ImageUploadError) as image:
        width, height = image.size
        if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE) or width * height > MAX_PIXELS:
            raise ImageUploadError(
                N_(
                    "The image is %(width)d × %(height)d pixels; use at most %(side)s pixels on each side and "
                    "%(pixels)s pixels in all."
                ),
                width=width,
                height=height,
                side=f"{MAX_SIDE:,}",
                pixels=f"{MAX_PIXELS:,}",
            )
        decode_image(image, kind, ImageUploadError)
        preview = make_preview(image, kind)
    return CheckedUpload(data=data, content_type=CONTENT_TYPES[kind], width=width, height=height, preview=preview)


def make_preview(image: Image.Image, kind: str) -> bytes:
    """The picture shrunk to fit PREVIEW_MAX_SIDE, in the original's format (a PNG keeps its transparency)."""
    small = image.copy()
    small.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))
    if kind == "JPEG" and small.mode not in ("RGB", "L"):
        small = small.convert("RGB")
    out = io.BytesIO()
    small.save(out, format=kind, **({"quality": 85} if kind == "JPEG" else {"optimize": True}))
    preview = out.getvalue()
    assert len(preview) <= PREVIEW_MAX_BYTES  # 240 × 240 pixels stay far below 1 MB in either format
    return preview


def store_image(
    session: Session, *, data: bytes, original_name: str | None = None, uploaded_by: int | None = None
) -> UploadedImage:
    """Check and store an upload; the same content uploaded again returns the row already stored."""
    key = hashlib.sha256(data).hexdigest()
    existing = find_image(session, key)
    if existing is not None:
        return existing
    checked = check_upload(data)
    image = UploadedImage(
        key=key,
        content_type=checked.content_type,
        width=checked.width,
        height=checked.height,
        size_bytes=len(data),
        data=checked.data,
        preview=checked.preview,
        original_name=(original_name or "")[:NAME_MAX] or None,
        uploaded_by=uploaded_by,
    )
    try:
        with session.begin_nested():  # the same file uploaded at the same moment elsewhere: keep theirs
            session.add(image)
    except IntegrityError:
        return find_image(session, key)
    return image


def find_image(session: Session, key: str) -> UploadedImage | None:
    """The uploaded image with this key, or None."""
    return session.scalars(select(UploadedImage).where(UploadedImage.key == key)).first()


def image_message(image: UploadedImage) -> dict:
    """An image message showing an uploaded image, in its stored form."""
    return {
        "type": "image",
        "originalContentUrl": media.original_path(image.key, image.content_type),
        "previewImageUrl": media.preview_path(image.key, image.content_type),
    }


def missing_images(session: Session, messages: list[dict]) -> set[str]:
    """The keys the messages refer to that no uploaded image has."""
    keys = media.referenced_keys(messages)
    if not keys:
        return set()
    found = set(session.scalars(select(UploadedImage.key).where(UploadedImage.key.in_(sorted(keys)))))
    return keys - found
