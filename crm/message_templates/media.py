"""References to uploaded images inside stored messages, and their public URLs when a message is sent.

A stored message refers to an uploaded image by its path under the CRM (`/media/<key>.jpg`, its preview
`/media/<key>/preview.jpg`): the stored form survives a change of PUBLIC_BASE_URL, and the absolute https URL
LINE needs is made when the message is rendered for sending.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MEDIA_PREFIX = "/media/"
URL_MAX = 2000  # LINE's limit for image URLs
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}
CONTENT_TYPES = {extension: content_type for content_type, extension in EXTENSIONS.items()}
REFERENCE = re.compile(r"/media/(?P<key>[0-9a-f]{64})(?P<preview>/preview)?\.(?P<ext>jpg|png)")
IMAGE_KEYS = ("originalContentUrl", "previewImageUrl", "thumbnailImageUrl", "imageUrl")


def original_path(key: str, content_type: str) -> str:
    """The stored reference (and public path) of an uploaded image."""
    return f"{MEDIA_PREFIX}{key}.{EXTENSIONS[content_type]}"


def preview_path(key: str, content_type: str) -> str:
    """The stored reference (and public path) of an uploaded image's preview."""
    return f"{MEDIA_PREFIX}{key}/preview.{EXTENSIONS[content_type]}"


def reference_key(url) -> str | None:
    """The uploaded image's key when `url` is a stored reference, else None."""
    match = REFERENCE.fullmatch(url) if isinstance(url, str) else None
    return match.group("key") if match else None


def referenced_keys(messages: list[dict]) -> set[str]:
    """The keys of every uploaded image the messages refer to."""
    found = (reference_key(holder.get(name)) for holder in _image_holders(messages) for name in IMAGE_KEYS)
    return {key for key in found if key}


def resolve(message: dict, base_url: str) -> dict:
    """The message with its uploaded-image references made absolute under base_url (a copy when changed)."""
    if not any(reference_key(holder.get(name)) for holder in _image_holders([message]) for name in IMAGE_KEYS):
        return message
    copied = _deep_copy(message)
    root = base_url.rstrip("/")
    for holder in _image_holders([copied]):
        for name in IMAGE_KEYS:
            if reference_key(holder.get(name)):
                holder[name] = root + holder[name]
    return copied


def resolve_all(messages: list[dict], base_url: str) -> list[dict]:
    """Every message resolved (for paths that send stored messages unchanged, e.g. a multicast)."""
    return [resolve(message, base_url) for message in messages]


def _image_holders(messages: list[dict]):
    """The objects that may hold image URLs: image messages, templates and their columns."""
    for message in messages:
        if not isinstance(message, dict):
            continue
        yield message
        template = message.get("template")
        if isinstance(template, dict):
            yield template
            for column in template.get("columns") if isinstance(template.get("columns"), list) else []:
                if isinstance(column, dict):
                    yield column


def _deep_copy(value):
    if isinstance(value, dict):
        return {key: _deep_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_deep_copy(item) for item in value]
    return value


def is_image_address(url, *, allow_uploaded: bool) -> bool:
    """An https URL LINE can fetch, or (where stored messages are checked) an uploaded image's reference."""
    if allow_uploaded and reference_key(url):
        return True
    if not isinstance(url, str) or len(url) > URL_MAX or any(ch.isspace() for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname)


def preview_of(url: str) -> str:
    """The preview of an uploaded image's reference; any other address is its own preview."""
    match = REFERENCE.fullmatch(url) if isinstance(url, str) else None
    if match is None or match.group("preview"):
        return url
    return f"{MEDIA_PREFIX}{match.group('key')}/preview.{match.group('ext')}"
