"""Messages (1-5 LINE message objects): validation, personalisation and per-friend rendering.

Texts, and a template message's notification text, titles and texts, may hold `{name}` (the friend's display
name) and `{field:key}` (a custom field). Messages that differ per friend (placeholders, or links when tracking:
URLs in texts and uri actions) must go out by push; the others by multicast. Stored messages may refer to
uploaded images (`/media/<key>.jpg`): rendering makes them absolute under the base URL.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlmodel import Session

from crm.chat.service import MAX_UTF16_UNITS, utf16_length
from crm.errors import N_
from crm.fields.models import FieldDefinition, FieldValue
from crm.friends.models import Friend
from crm.line.message_models import MessageModelError, validate_message_dict
from crm.message_templates import media, parts
from crm.message_templates.errors import ContentError
from crm.message_templates.placeholders import PLACEHOLDER, field_keys_in, fill_placeholders, has_placeholder
from crm.message_templates.template_checks import check_template_message
from crm.tracking import links as tracked_links

__all__ = ["PLACEHOLDER", "ContentError", "fill_placeholders", "utf16_length"]

MAX_MESSAGES = 5
TEXT_MAX_UTF16 = MAX_UTF16_UNITS  # LINE's limit for a text message
ALT_TEXT_MAX = 1500  # LINE's limit for a flex message's altText
FLEX_MAX_NESTING = 60  # objects and lists: real bubbles and carousels stay far below this
TYPES = ("text", "image", "sticker", "template", "flex")
TEST_MARK = "[テスト]"


def validate_messages(data: list[dict] | str, *, allow_uploaded: bool = False) -> list[dict]:
    """Parse and check 1-5 message objects; return them normalised by the SDK's models.

    allow_uploaded: image addresses may be uploaded images' references (stored templates); messages sent as
    stored (a broadcast) need absolute https URLs.
    """
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise ContentError(N_("The messages are not valid JSON.")) from None
    if not isinstance(data, list) or not 1 <= len(data) <= MAX_MESSAGES:
        raise ContentError(N_("A broadcast has between 1 and %(max)s messages."), max=MAX_MESSAGES)
    return [_validate_one(index, message, allow_uploaded) for index, message in enumerate(data)]


def _validate_one(index: int, message, allow_uploaded: bool) -> dict:
    if not isinstance(message, dict) or message.get("type") not in TYPES:
        raise ContentError(N_("Use a text, image, sticker, template or flex message."), index=index)
    _check_limits(index, message, allow_uploaded)
    try:
        return validate_message_dict(message)
    except MessageModelError as error:
        raise ContentError(N_("LINE would reject this message: %(reason)s"), index=index, reason=str(error)) from None


def _check_limits(index: int, message: dict, allow_uploaded: bool) -> None:
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
            if not media.is_image_address(message.get(key), allow_uploaded=allow_uploaded):
                raise ContentError(N_("Image addresses must be https URLs."), index=index)
    elif kind == "sticker":
        if not all(str(message.get(key) or "").strip() for key in ("packageId", "stickerId")):
            raise ContentError(N_("Pick a sticker."), index=index)
    elif kind == "template":
        check_template_message(index, message, allow_uploaded=allow_uploaded)
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


def is_personal(messages: list[dict], *, track_links: bool) -> bool:
    """True when some message differs per friend (placeholders, or links when tracking): send by push."""
    for message in messages:
        if any(has_placeholder(slot.holder[slot.key]) for slot in parts.text_slots(message, text_max=0)):
            return True
        if track_links and message.get("type") == "text" and tracked_links.find_urls(message.get("text") or ""):
            return True
        if track_links and next(parts.tracked_uri_actions(message), None) is not None:
            return True
    return False


def field_keys(messages: list[dict]) -> set[str]:
    """The custom field keys the messages' texts refer to."""
    return {
        key
        for message in messages
        for slot in parts.text_slots(message, text_max=0)
        for key in field_keys_in(slot.holder[slot.key])
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
    scenario_variant_id: int | None = None,
    source: str = "broadcast",
    neutral_address: str | None = None,
) -> list[dict]:
    """The messages as this friend receives them: placeholders filled (an unknown name becomes the neutral
    address), links in texts and uri actions tracked per friend, uploaded images made absolute URLs."""
    if fields is None:
        fields = load_fields(session, [friend.id], field_keys(messages)).get(friend.id, {})
    tracking = {"source": source, "broadcast_id": broadcast_id, "scenario_variant_id": scenario_variant_id}
    rendered = []
    for stored in messages:
        message = _copy_to_fill(media.resolve(stored, base_url))
        for slot in parts.text_slots(message, text_max=TEXT_MAX_UTF16):
            text = fill_placeholders(
                slot.holder[slot.key], name=friend.display_name, fields=fields, neutral_address=neutral_address
            )
            if slot.holder is message and message.get("type") == "text":
                text = tracked_links.rewrite_links(
                    session, text=text, friend_id=friend.id, base_url=base_url, track=track_links, **tracking
                )
            slot.holder[slot.key] = truncate_utf16(text, slot.limit)
        for action in parts.tracked_uri_actions(message) if track_links else ():
            action["uri"] = _tracked_uri(session, action["uri"], friend.id, base_url, tracking)
        rendered.append(message)
    return rendered


def _copy_to_fill(message: dict) -> dict:
    """A copy of a message with texts to fill, so the caller's stored messages stay as they were."""
    return json.loads(json.dumps(message)) if message.get("type") in ("text", "template") else message


def _tracked_uri(session: Session, uri: str, friend_id: int, base_url: str, tracking: dict) -> str:
    """The friend's tracked URL for a uri action's destination (unchanged when it cannot be tracked)."""
    if uri.startswith(tracked_links.tracked_url(base_url, "")):
        return uri
    try:
        link = tracked_links.find_or_create_link(session, destination=uri, **tracking)
    except tracked_links.TrackingError:
        return uri
    return tracked_links.tracked_url(base_url, tracked_links.token_for(session, link_id=link.id, friend_id=friend_id))


def truncate_utf16(text: str, limit: int) -> str:
    """Cut a text to at most `limit` UTF-16 units without splitting a surrogate pair."""
    if utf16_length(text) <= limit:
        return text
    return text.encode("utf-16-le")[: limit * 2].decode("utf-16-le", errors="ignore")


def mark_as_test(messages: list[dict], *, variant: str | None = None) -> list[dict]:
    """Test-send copy: the first text starts with "[テスト]" (or a marker text is put first when room); an A/B
    variant's copy with "[テスト A]"."""
    mark = f"{TEST_MARK[:-1]} {variant}]" if variant else TEST_MARK
    for index, message in enumerate(messages):
        if message.get("type") == "text":
            marked = truncate_utf16(f"{mark} {message['text']}", TEXT_MAX_UTF16)
            return [*messages[:index], {**message, "text": marked}, *messages[index + 1 :]]
    if len(messages) < MAX_MESSAGES:
        return [{"type": "text", "text": mark}, *messages]
    return messages
