"""The talk view's messages: what the friend sent (stickers and images shown as such) and the staff's replies."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from crm.errors import N_
from crm.friends.models import Message, MessageDirection
from crm.i18n import translate
from crm.inbox.talk import Side, TalkItem, Window, bounded
from crm.line import stickers
from crm.staff.models import Staff
from crm.webhook.models import WebhookEvent

# A friend's message that is not text, in words (message_type).
KIND_WORDS = {
    "image": N_("Image"),
    "video": N_("Video"),
    "audio": N_("Voice message"),
    "file": N_("File"),
    "location": N_("Location"),
    "sticker": N_("Sticker"),
}
# The kinds whose content the talk view reads from LINE (image, video preview and player, voice player, download).
FROM_LINE = ("image", "video", "audio", "file")


def message_items(session: Session, friend_id: int, window: Window) -> list[TalkItem]:
    """The conversation's messages in the window, each with who wrote it."""
    query = select(Message).where(Message.friend_id == friend_id)
    rows = session.exec(bounded(query, Message.created_at, Message.id, window)).all()
    stickers = _sticker_ids(session, [row.webhook_event_id for row in rows if row.message_type == "sticker"])
    staff_ids = {row.staff_id for row in rows if row.staff_id is not None}
    names = (
        dict(session.exec(select(Staff.id, Staff.display_name).where(Staff.id.in_(staff_ids))).all())
        if staff_ids
        else {}
    )
    return [_item(row, stickers.get(row.webhook_event_id), names.get(row.staff_id)) for row in rows]


def _origin(row: Message, staff_name: str | None) -> str:
    """Who wrote the message, in words: the friend, a staff member by name, or the account."""
    if row.direction == MessageDirection.INCOMING:
        return translate(N_("Friend"))
    if row.sent_via != "console":
        return translate(N_("Account"))
    if staff_name:
        return translate(N_("Staff reply (%(name)s)"), {"name": staff_name})
    return translate(N_("Staff reply"))


def _item(row: Message, sticker: tuple[str, str] | None, staff_name: str | None = None) -> TalkItem:
    incoming = row.direction == MessageDirection.INCOMING
    base = dict(
        at=row.created_at,
        source="message",
        ref=row.id,
        side=Side.FRIEND if incoming else Side.ACCOUNT,
        origin=_origin(row, staff_name),
    )
    if row.unsent:
        return TalkItem(**base, kind="unsent", label=translate(N_("Unsent by the friend")))
    if row.message_type == "text":
        return TalkItem(**base, text=row.text)
    if row.message_type == "sticker":
        return _sticker(base, sticker)
    label = kind_word(row.message_type)
    if row.message_type not in FROM_LINE:
        return TalkItem(**base, kind="media", label=label)
    # What a friend sent is read from LINE while LINE keeps it (crm.inbox.media_views); the label stands in after.
    from_line = incoming and row.line_message_id is not None
    if row.message_type == "file":
        return TalkItem(
            **base, kind="file", label=row.text or label, from_line=from_line, detail=size_words(row.file_size)
        )
    return TalkItem(
        **base, kind=row.message_type, label=label, from_line=from_line, detail=duration_words(row.duration_ms)
    )


def kind_word(message_type: str) -> str:
    """A message type in words (「動画」), or the type itself in brackets when it has none."""
    words = KIND_WORDS.get(message_type)
    return translate(words) if words else f"[{message_type}]"


def duration_words(milliseconds: int | None) -> str | None:
    """A video's or voice message's length as a player shows it: 「0:42」「1:02:03」."""
    if milliseconds is None:
        return None
    minutes, seconds = divmod(round(milliseconds / 1000), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def size_words(size: int | None) -> str | None:
    """A file's size in bytes, KB or MB (1,000-based, one decimal)."""
    if size is None:
        return None
    if size < 1000:
        return f"{size} B"
    return f"{size / 1000:.1f} KB" if size < 1_000_000 else f"{size / 1_000_000:.1f} MB"


def _sticker(base: dict, sticker: tuple[str, str] | None) -> TalkItem:
    if sticker is None:  # the event's payload has been pruned: the sticker's ids are gone
        return TalkItem(**base, kind="sticker", label=translate(N_("Sticker")))
    package_id, sticker_id = sticker
    return TalkItem(
        **base,
        kind="sticker",
        image_url=stickers.image_url(sticker_id),
        label=translate(N_("Sticker (%(package)s/%(sticker)s)"), {"package": package_id, "sticker": sticker_id}),
    )


def _sticker_ids(session: Session, event_keys: list[str | None]) -> dict[str, tuple[str, str]]:
    """(package id, sticker id) of sticker messages, read from their stored webhook events while kept."""
    keys = [key for key in event_keys if key]
    if not keys:
        return {}
    rows = session.exec(
        select(WebhookEvent.webhook_event_id, WebhookEvent.payload).where(
            WebhookEvent.webhook_event_id.in_(keys), WebhookEvent.payload_kept
        )
    ).all()
    found = {}
    for key, payload in rows:
        message = _json(payload).get("message") or {}
        package_id, sticker_id = message.get("packageId"), message.get("stickerId")
        if str(sticker_id or "").isdigit() and str(package_id or "").isdigit():
            found[key] = (str(package_id), str(sticker_id))
    return found


def _json(payload: str) -> dict:
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
