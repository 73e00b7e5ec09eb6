"""A broadcast's messages: validation (1-5 LINE message objects), personalisation and per-friend rendering.

Texts may hold `{name}` (the friend's display name) and `{field:key}` (a custom field). Messages that differ
per friend (placeholders, or links when tracking) must go out by push; the others by multicast.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlmodel import Session

from crm.chat.service import MAX_UTF16_UNITS, utf16_length
from crm.errors import N_, TranslatableError
from crm.fields.models import FieldDefinition, FieldValue
from crm.friends.models import Friend
from crm.line.message_models import MessageModelError, validate_message_dict
from crm.tracking import links as tracked_links

MAX_MESSAGES = 5
TEXT_MAX_UTF16 = MAX_UTF16_UNITS  # LINE's limit for a text message
ALT_TEXT_MAX = 1500  # LINE's limit for a flex message's altText
URL_MAX = 2000  # LINE's limit for image URLs
FLEX_MAX_NESTING = 60  # objects and lists: real bubbles and carousels stay far below this
PLACEHOLDER = re.compile(r"\{(?:(name)|field:([a-z][a-z0-9_]{0,49}))\}")
TYPES = ("text", "image", "sticker", "flex")
TEST_MARK = "[テスト]"


class ContentError(TranslatableError):
    """Messages that cannot be sent; `.index` is the 0-based message at fault (None: the list itself)."""

    def __init__(self, msgid: str, *, index: int | None = None, **params):
        super().__init__(msgid, **params)
        self.index = index


def validate_messages(data: list[dict] | str) -> list[dict]:
    """Parse and check 1-5 message objects; return them normalised by the SDK's models."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise ContentError(N_("The messages are not valid JSON.")) from None
    if not isinstance(data, list) or not 1 <= len(data) <= MAX_MESSAGES:
        raise ContentError(N_("A broadcast has between 1 and %(max)s messages."), max=MAX_MESSAGES)
    return [_validate_one(index, message) for index, message in enumerate(data)]


def _validate_one(index: int, message) -> dict:
    if not isinstance(message, dict) or message.get("type") not in TYPES:
        raise ContentError(N_("Use a text, image, sticker or flex message."), index=index)
    _check_limits(index, message)
    try:
        return validate_message_dict(message)
    except MessageModelError as error:
        raise ContentError(N_("LINE would reject this message: %(reason)s"), index=index, reason=str(error)) from None


def _check_limits(index: int, message: dict) -> None:
    """The limits LINE enforces that the SDK's models do not."""
    kind = message["type"]
    if kind == "text":
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ContentError(N_("The text is empty."), index=index)
        if utf16_length(text) > TEXT_MAX_UTF16:
            raise ContentError(N_("The text is longer than %(limit)s characters."), index=index, limit=TEXT_MAX_UTF16)
    elif kind == "image":
        for key in ("originalContentUrl", "previewImageUrl"):
            if not _is_https(message.get(key)):
                raise ContentError(N_("Image addresses must be https URLs."), index=index)
    elif kind == "flex":
        alt = message.get("altText")
        if not isinstance(alt, str) or not alt.strip() or len(alt) > ALT_TEXT_MAX:
            raise ContentError(
                N_("A flex message needs an alternative text of at most %(limit)s characters."),
                index=index,
                limit=ALT_TEXT_MAX,
            )
        if _nesting(message.get("contents")) > FLEX_MAX_NESTING:
            raise ContentError(
                N_("The flex contents are nested too deeply (at most %(limit)s levels)."),
                index=index,
                limit=FLEX_MAX_NESTING,
            )


def _nesting(value) -> int:
    """How deeply objects and lists nest in a JSON value, counted without recursion (the SDK's models and
    LINE's renderer would recurse over any depth)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            if depth <= FLEX_MAX_NESTING:
                stack.extend((child, depth + 1) for child in children)
    return deepest


def _is_https(url) -> bool:
    if not isinstance(url, str) or len(url) > URL_MAX or any(ch.isspace() for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname)


def is_personal(messages: list[dict], *, track_links: bool) -> bool:
    """True when some text differs per friend (placeholders, or links when tracking): send by push."""
    for message in messages:
        if message.get("type") != "text":
            continue
        text = message.get("text") or ""
        if PLACEHOLDER.search(text) or (track_links and tracked_links.find_urls(text)):
            return True
    return False


def field_keys(messages: list[dict]) -> set[str]:
    """The custom field keys the texts refer to."""
    return {
        match.group(2)
        for message in messages
        if message.get("type") == "text"
        for match in PLACEHOLDER.finditer(message.get("text") or "")
        if match.group(2)
    }


def load_fields(session: Session, friend_ids: list[int], keys: set[str]) -> dict[int, dict[str, str]]:
    """The given fields' values of several friends at once: {friend_id: {key: value}}."""
    if not keys or not friend_ids:
        return {}
    query = (
        select(FieldValue.friend_id, FieldDefinition.key, FieldValue.value)
        .join(FieldDefinition, FieldDefinition.id == FieldValue.field_id)
        .where(FieldValue.friend_id.in_(friend_ids), FieldDefinition.key.in_(sorted(keys)))
    )
    values: dict[int, dict[str, str]] = {}
    for friend_id, key, value in session.execute(query):
        values.setdefault(friend_id, {})[key] = value
    return values


def render(
    session: Session,
    messages: list[dict],
    *,
    friend: Friend,
    base_url: str,
    broadcast_id: int | None,
    track_links: bool,
    fields: dict[str, str] | None = None,
) -> list[dict]:
    """The messages as this friend receives them: placeholders filled ("" when unknown), links tracked."""
    if fields is None:
        fields = load_fields(session, [friend.id], field_keys(messages)).get(friend.id, {})
    rendered = []
    for message in messages:
        if message.get("type") == "text":
            text = fill_placeholders(message["text"], name=friend.display_name, fields=fields)
            text = tracked_links.rewrite_links(
                session,
                text=text,
                friend_id=friend.id,
                base_url=base_url,
                source="broadcast",
                broadcast_id=broadcast_id,
                track=track_links,
            )
            message = {**message, "text": truncate_utf16(text, TEXT_MAX_UTF16)}
        rendered.append(message)
    return rendered


def fill_placeholders(text: str, *, name: str | None, fields: dict[str, str]) -> str:
    """Replace {name} and {field:key} in one pass (a value that itself looks like a placeholder stays as is)."""

    def value(match: re.Match) -> str:
        return (name or "") if match.group(1) else fields.get(match.group(2), "")

    return PLACEHOLDER.sub(value, text)


def truncate_utf16(text: str, limit: int) -> str:
    """Cut a text to at most `limit` UTF-16 units without splitting a surrogate pair."""
    if utf16_length(text) <= limit:
        return text
    return text.encode("utf-16-le")[: limit * 2].decode("utf-16-le", errors="ignore")


def mark_as_test(messages: list[dict]) -> list[dict]:
    """Test-send copy: the first text starts with "[テスト]" (or a marker text is put first when room)."""
    for index, message in enumerate(messages):
        if message.get("type") == "text":
            marked = truncate_utf16(f"{TEST_MARK} {message['text']}", TEXT_MAX_UTF16)
            return [*messages[:index], {**message, "text": marked}, *messages[index + 1 :]]
    if len(messages) < MAX_MESSAGES:
        return [{"type": "text", "text": TEST_MARK}, *messages]
    return messages
