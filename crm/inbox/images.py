"""Images friends sent, read from LINE when the talk view shows them (LINE keeps a message's content for a limited
time; the CRM stores none of it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session, select

from crm.friends.models import Friend, FriendStatus, Message, MessageDirection
from crm.line.errors import LineApiError

MAX_IMAGE_BYTES = 10 * 1024 * 1024
# Served from the console's own origin: only image types, never anything a browser would run.
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


class ContentReader(Protocol):
    def get_message_content(self, message_id: str) -> tuple[bytes, str] | None: ...


@dataclass(frozen=True)
class Image:
    data: bytes
    content_type: str


class ImageGone(Exception):
    """LINE no longer keeps the image (it answered 404)."""


class ImageUnavailable(Exception):
    """LINE failed or could not be reached, or sent something other than a reasonably small image."""


def line_image_id(session: Session, *, message_id: int) -> str | None:
    """The LINE message ID of a friend's image message that may be shown; None when there is no such message
    (not an image, sent by the account, unsent by the friend, or of an erased friend)."""
    return session.exec(
        select(Message.line_message_id)
        .join(Friend, Friend.id == Message.friend_id)
        .where(
            Message.id == message_id,
            Message.direction == MessageDirection.INCOMING,
            Message.message_type == "image",
            Message.line_message_id.is_not(None),
            Message.unsent.is_(False),
            Friend.status != FriendStatus.ERASED,
        )
    ).first()


def fetch_image(client: ContentReader, line_message_id: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> Image:
    """The image's bytes from LINE; ImageGone once LINE dropped it, ImageUnavailable on any other failure."""
    try:
        found = client.get_message_content(line_message_id)
    except LineApiError as error:
        raise ImageUnavailable(f"LINE error {error.status}: {error}") from error
    if found is None:
        raise ImageGone(line_message_id)
    data, content_type = found
    if content_type not in IMAGE_TYPES:
        raise ImageUnavailable(f"not an image: {content_type or 'no content type'}")
    if not 0 < len(data) <= max_bytes:
        raise ImageUnavailable(f"image of {len(data)} bytes (at most {max_bytes})")
    return Image(data, content_type)
