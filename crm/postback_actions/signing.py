"""The postback data of a button with actions: a short signed reference to its stored list, "pa:<id>.<mac>".

The MAC is HMAC-SHA256 of "pa:<id>" keyed by the app's secret (SECRET_KEY), cut to 16 base64url characters, so
the data stays far below LINE's 300 characters and a friend (or anyone posting to the webhook with a forged
body) cannot point a tap at another list. Changing SECRET_KEY invalidates every published reference: save and
publish the menus and templates again."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

PREFIX = "pa:"
MAC_CHARS = 16
DATA_RE = re.compile(r"pa:([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{16})")


def _mac(list_id: int, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{PREFIX}{list_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:MAC_CHARS]


def postback_data(list_id: int, secret: str) -> str:
    """The postback data that refers to the list."""
    if not secret:
        raise ValueError("signing postback data needs the app's secret")
    return f"{PREFIX}{list_id}.{_mac(list_id, secret)}"


def list_id_of(data: str | None, secret: str) -> int | None:
    """The list id the data refers to when its signature is right, else None (forged, tampered or foreign)."""
    match = DATA_RE.fullmatch(data or "")
    if match is None or not secret:
        return None
    list_id = int(match.group(1))
    return list_id if hmac.compare_digest(match.group(2), _mac(list_id, secret)) else None
