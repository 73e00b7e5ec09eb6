"""What friends sent that LINE keeps for them (images, videos, voice messages, files), read from LINE when the talk
view shows it: the content, or a video's preview image. LINE keeps a message's content for a limited time; the
CRM keeps only a bounded cache of images and previews (`crm.inbox.content_cache`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, select

from crm.friends.models import Friend, FriendStatus, Message, MessageDirection
from crm.line.errors import LineApiError

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_MEDIA_BYTES = 200 * 1024 * 1024  # LINE's own limit for a video or file a user sends
# Served from the console's own origin: only image, video and audio types, never anything a browser would run.
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
PLAYABLE_TYPES = {
    "video": frozenset({"video/mp4", "video/quicktime", "video/webm"}),
    "audio": frozenset({"audio/x-m4a", "audio/m4a", "audio/mp4", "audio/aac", "audio/mpeg", "audio/ogg"}),
}
MEDIA_KINDS = ("image", "video", "audio", "file")
UNSAFE_IN_FILE_NAME = re.compile(r'[\x00-\x1f\x7f"\\/]+')

ContentCall = Callable[[str], "tuple[bytes, str] | None"]


@dataclass(frozen=True)
class Image:
    """Bytes as LINE sent them, with their content type (an image, a preview, a video, a file)."""

    data: bytes
    content_type: str


@dataclass(frozen=True)
class SentMedia:
    """A friend's message whose content LINE keeps: its LINE id, whose it is, its type and what the webhook told."""

    line_message_id: str
    friend_id: int
    message_type: str
    file_name: str | None  # a file's name (files only)


class ImageGone(Exception):
    """LINE no longer keeps the content (it answered 404)."""


class ImageUnavailable(Exception):
    """LINE failed or could not be reached, or sent something other than what was asked for, or too much."""


def sent_media(session: Session, *, message_id: int, kinds: tuple[str, ...] = MEDIA_KINDS) -> SentMedia | None:
    """The friend's message of one of these types that may be shown; None when there is no such message (another
    type, sent by the account, unsent by the friend, or of an erased friend)."""
    row = session.exec(
        select(Message.line_message_id, Message.friend_id, Message.message_type, Message.text)
        .join(Friend, Friend.id == Message.friend_id)
        .where(
            Message.id == message_id,
            Message.direction == MessageDirection.INCOMING,
            Message.message_type.in_(kinds),
            Message.line_message_id.is_not(None),
            Message.unsent.is_(False),
            Friend.status != FriendStatus.ERASED,
        )
    ).first()
    if row is None:
        return None
    line_message_id, friend_id, message_type, text = row
    return SentMedia(line_message_id, friend_id, message_type, text if message_type == "file" else None)


def line_image_id(session: Session, *, message_id: int) -> str | None:
    """The LINE message ID of a friend's image message that may be shown (see `sent_media`)."""
    media = sent_media(session, message_id=message_id, kinds=("image",))
    return media.line_message_id if media else None


def fetch(
    call: ContentCall, line_message_id: str, *, types: frozenset[str] | None, max_bytes: int = MAX_MEDIA_BYTES
) -> Image:
    """Content from LINE through `call` (the client's content or preview read); ImageGone once LINE dropped it,
    ImageUnavailable on any other failure, or when its type is not one of `types` (None: any type)."""
    try:
        found = call(line_message_id)
    except LineApiError as error:
        raise ImageUnavailable(f"LINE error {error.status}: {error}") from error
    if found is None:
        raise ImageGone(line_message_id)
    data, content_type = found
    if types is not None and content_type not in types:
        raise ImageUnavailable(f"unexpected content type: {content_type or 'none'}")
    if not 0 < len(data) <= max_bytes:
        raise ImageUnavailable(f"content of {len(data)} bytes (at most {max_bytes})")
    return Image(data, content_type)


def fetch_image(client, line_message_id: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> Image:
    """An image's bytes from LINE (see `fetch`)."""
    return fetch(client.get_message_content, line_message_id, types=IMAGE_TYPES, max_bytes=max_bytes)


def safe_file_name(name: str | None, fallback: str) -> str:
    """A file name fit for a Content-Disposition header: no control characters (no header injection), quotes,
    backslashes or folders, at most 200 characters; `fallback` when nothing is left."""
    cleaned = UNSAFE_IN_FILE_NAME.sub("_", name or "").strip(" ._")[:200]
    return cleaned or fallback
