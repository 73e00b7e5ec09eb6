"""Uploaded images: checks (type by content, 10 MB, pixels decoded, dimensions), previews within LINE's limits,
one row per content, public serving with the right headers."""

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.message_templates import images
from crm.message_templates.models import UploadedImage
from tests.message_templates.helpers import image_bytes


def refused(data: bytes) -> str:
    with pytest.raises(images.ImageUploadError) as caught:
        images.check_upload(data)
    return str(caught.value)


@pytest.mark.db_agnostic
@pytest.mark.parametrize("kind, content_type", [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_jpeg_and_png_are_accepted_with_a_preview_within_line_limits(kind, content_type):
    checked = images.check_upload(image_bytes((1600, 900), kind))
    assert (checked.content_type, checked.width, checked.height) == (content_type, 1600, 900)
    preview = Image.open(io.BytesIO(checked.preview))
    assert preview.format == kind and preview.size == (240, 135)
    assert len(checked.preview) <= images.PREVIEW_MAX_BYTES


@pytest.mark.db_agnostic
def test_a_transparent_png_keeps_its_format_and_a_small_image_is_not_enlarged():
    checked = images.check_upload(image_bytes((100, 50), "PNG", color=(0, 0, 0, 0), mode="RGBA"))
    preview = Image.open(io.BytesIO(checked.preview))
    assert (preview.format, preview.mode, preview.size) == ("PNG", "RGBA", (100, 50))


@pytest.mark.db_agnostic
def test_ten_megabytes_is_the_limit():
    at_limit = image_bytes((64, 64), "PNG")
    at_limit = _padded_png(at_limit, images.MAX_UPLOAD_BYTES)
    assert images.check_upload(at_limit).width == 64
    assert refused(_padded_png(image_bytes((64, 64), "PNG"), images.MAX_UPLOAD_BYTES + 1)) == (
        "The image is 10,485,761 bytes; LINE accepts at most 10 MB (10,485,760 bytes)."
    )


def _padded_png(base: bytes, length: int) -> bytes:
    padding = length - len(base) - 12 - len(b"pad\x00")
    body = b"tEXt" + b"pad\x00" + b"a" * padding
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    data = base[:33] + chunk + base[33:]
    assert len(data) == length
    return data


@pytest.mark.db_agnostic
@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "Choose an image file to upload."),
        (image_bytes((64, 64), "GIF"), "Only JPEG and PNG images can be used"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "Only JPEG and PNG images can be used"),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "The file starts like a PNG image but cannot be read as one."),
        (image_bytes((10001, 10), "PNG"), "The image is 10001 × 10 pixels; use at most 10,000 pixels on each side"),
        (image_bytes((10000, 5001), "PNG"), "The image is 10000 × 5001 pixels"),
    ],
)
def test_bogus_uploads_are_refused_clearly(data, message):
    assert refused(data).startswith(message)


@pytest.mark.db_agnostic
def test_a_cut_off_jpeg_is_refused():
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((800, 600)).convert("RGB").save(buffer, "JPEG")
    data = buffer.getvalue()
    assert refused(data[: len(data) * 9 // 10]) == "The JPEG image is damaged or incomplete."


@pytest.mark.db_agnostic
def test_a_decompression_bomb_is_refused_without_decoding():
    header = image_bytes((8, 8), "PNG")
    # The IHDR of a 20000 × 20000 picture (a few bytes that would decode to 1.2 GB): Pillow's own bomb check.
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    bomb = header[:8] + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + header[33:]
    assert refused(bomb).startswith("The file starts like a PNG image but cannot be read")


def test_the_same_file_twice_is_one_row(app):
    data = image_bytes()
    with session_scope(get_engine(app)) as session:
        first = images.store_image(session, data=data, original_name="sale.jpg")
        second = images.store_image(session, data=data, original_name="copy.jpg")
        assert first.id == second.id and first.key == hashlib.sha256(data).hexdigest()
    with session_scope(get_engine(app)) as session:
        rows = session.exec(select(UploadedImage)).all()
        assert [(row.original_name, row.width, row.size_bytes) for row in rows] == [("sale.jpg", 640, len(data))]
        message = images.image_message(rows[0])
        assert images.missing_images(session, [message]) == set()
        assert images.missing_images(session, [{**message, "previewImageUrl": f"/media/{'0' * 64}.jpg"}]) == {"0" * 64}


@pytest.mark.parametrize("kind, ext, content_type", [("JPEG", "jpg", "image/jpeg"), ("PNG", "png", "image/png")])
def test_images_and_previews_are_served_publicly_with_long_cache(app, kind, ext, content_type):
    data = image_bytes((800, 800), kind)
    with session_scope(get_engine(app)) as session:
        key = images.store_image(session, data=data).key
    client = app.test_client()
    original = client.get(f"/media/{key}.{ext}")
    assert original.status_code == 200 and original.data == data
    assert original.headers["Content-Type"] == content_type
    assert original.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert original.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in original.headers
    preview = client.get(f"/media/{key}/preview.{ext}")
    assert preview.status_code == 200 and Image.open(io.BytesIO(preview.data)).size == (240, 240)
    assert preview.headers["Content-Type"] == content_type
    assert client.get(f"/media/{key}.{ext}", headers={"If-None-Match": original.headers["ETag"]}).status_code == 304


def test_unknown_or_malformed_media_paths_are_404(app):
    with session_scope(get_engine(app)) as session:
        key = images.store_image(session, data=image_bytes()).key
    client = app.test_client()
    for path in (
        f"/media/{'0' * 64}.jpg",
        f"/media/{key}.png",
        f"/media/{key}.gif",
        f"/media/{key[:10]}.jpg",
        f"/media/{key}/preview.png",
        f"/media/{key}/other.jpg",
        "/media/",
    ):
        assert client.get(path).status_code == 404, path
