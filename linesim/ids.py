"""Identifiers in the formats LINE uses: user IDs, ULIDs, reply tokens, message IDs."""

from __future__ import annotations

import re
import secrets
import time
import uuid

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHAT_ID_RE = re.compile(r"^[UCR][0-9a-f]{32}$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def now_ms() -> int:
    """Current time in epoch milliseconds, as webhook timestamps are."""
    return int(time.time() * 1000)


def user_id() -> str:
    """A user ID: "U" and 32 lowercase hex digits."""
    return "U" + secrets.token_hex(16)


def group_id() -> str:
    """A group chat ID: "C" and 32 lowercase hex digits."""
    return "C" + secrets.token_hex(16)


def room_id() -> str:
    """A multi-person chat ID: "R" and 32 lowercase hex digits."""
    return "R" + secrets.token_hex(16)


def ulid(ms: int | None = None) -> str:
    """A ULID (26 Crockford base32 characters: 48-bit time, 80 random bits), as webhookEventId is."""
    value = ((now_ms() if ms is None else ms) << 80) | secrets.randbits(80)
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def reply_token() -> str:
    """A reply token: 32 hex digits."""
    return secrets.token_hex(16)


def message_id() -> str:
    """A message ID: an 18-digit decimal string."""
    return str(10**17 + secrets.randbelow(9 * 10**17))


def quote_token() -> str:
    """An opaque quote token."""
    return secrets.token_urlsafe(48)


def request_id() -> str:
    """The value of X-Line-Request-Id."""
    return str(uuid.uuid4())


def rich_menu_id() -> str:
    """A rich menu ID: "richmenu-" and 32 hex digits."""
    return "richmenu-" + secrets.token_hex(16)
