"""Click ids: the signed, opaque reference to one click that a conversion-tracking link carries to the shop.

A click id is `<base64url of the click's id>.<MAC>`, the MAC being HMAC-SHA256 of the encoded id keyed by the
app's `SECRET_KEY`, cut to 16 base64url characters. It says nothing about the friend; only the CRM can check
it, so a shop page (or anyone) cannot make one up for another click. Changing `SECRET_KEY` invalidates the
click ids already handed out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit, urlunsplit

PARAMETER = "crm_click"
MAC_CHARS = 16
MAX_CHARS = 64


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _mac(secret: str, encoded_id: str) -> str:
    digest = hmac.new(secret.encode(), b"click:" + encoded_id.encode(), hashlib.sha256).digest()
    return _encode(digest)[:MAC_CHARS]


def sign(click_id: int, secret: str) -> str:
    """The click id handed to the destination for a stored click."""
    encoded = _encode(click_id.to_bytes(8, "big").lstrip(b"\0") or b"\0")
    return f"{encoded}.{_mac(secret, encoded)}"


def verify(value: object, secret: str) -> int | None:
    """The click's id when the click id is genuine, else None (forged, tampered, malformed)."""
    if not isinstance(value, str) or len(value) > MAX_CHARS or value.count(".") != 1:
        return None
    encoded, mac = value.split(".")
    if not encoded or not hmac.compare_digest(mac, _mac(secret, encoded)):
        return None
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError:
        return None
    return int.from_bytes(raw, "big") or None


def with_click_id(destination: str, click_id: int, secret: str) -> str:
    """The destination with the click id added to its query; the query as the shop wrote it is kept byte for
    byte (the id is base64url and a dot: nothing to escape)."""
    parts = urlsplit(destination)
    query = f"{parts.query}&" if parts.query else ""
    query += f"{PARAMETER}={sign(click_id, secret)}"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
