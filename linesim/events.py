"""Complete webhook event objects, as LINE sends them (the SDK turns incomplete ones into UnknownEvent)."""

from __future__ import annotations

import copy

from linesim import ids

REPLYABLE = (
    "message",
    "follow",
    "join",
    "memberJoined",
    "postback",
    "beacon",
    "accountLink",
    "videoPlayComplete",
    "membership",
)
STICKER_RESOURCE_TYPES = (
    "STATIC",
    "ANIMATION",
    "SOUND",
    "ANIMATION_SOUND",
    "POPUP",
    "POPUP_SOUND",
    "CUSTOM",
    "MESSAGE",
    "NAME_TEXT",
    "PER_STICKER_TEXT",
)


def user_source(user_id: str) -> dict:
    """A one-on-one chat source."""
    return {"type": "user", "userId": user_id}


def event(kind: str, source: dict | None, **fields) -> dict:
    """An event with every common property, and a reply token where LINE gives one."""
    return complete({"type": kind, "source": source, **fields})


def complete(partial: dict) -> dict:
    """Fill in whatever a partial event lacks: common properties, reply token and type-specific content."""
    result = copy.deepcopy(partial)
    if result.get("source") is None:
        result.pop("source", None)
    result.setdefault("timestamp", ids.now_ms())
    result.setdefault("mode", "active")
    result.setdefault("webhookEventId", ids.ulid(result["timestamp"]))
    result.setdefault("deliveryContext", {"isRedelivery": False})
    filler = CONTENT_DEFAULTS.get(result.get("type"))
    if filler:
        filler(result)
    if wants_reply_token(result):
        result.setdefault("replyToken", ids.reply_token())
    return result


def wants_reply_token(result: dict) -> bool:
    """LINE gives a reply token to replyable events in active mode (not to a failed account link)."""
    if result.get("mode") != "active" or result.get("type") not in REPLYABLE:
        return False
    return result.get("type") != "accountLink" or result.get("link", {}).get("result") == "ok"


def message_content(data: dict) -> dict:
    """A complete message object of a message event, from {"type": ..., ...} or {"text": ...}."""
    content = copy.deepcopy(data)
    kind = content.setdefault("type", "text")
    content.setdefault("id", ids.message_id())
    if kind in ("text", "image", "video", "sticker"):
        content.setdefault("quoteToken", ids.quote_token())
    if kind == "text":
        content.setdefault("text", "")
    elif kind in ("image", "video", "audio"):
        content.setdefault("contentProvider", {"type": "line"})
        if kind != "image":
            content.setdefault("duration", 1000)
    elif kind == "file":
        content.setdefault("fileName", "file.txt")
        content.setdefault("fileSize", 1)
    elif kind == "location":
        content.setdefault("title", "Tokyo Tower")
        content.setdefault("address", "4-2-8 Shibakoen, Minato-ku, Tokyo")
        content.setdefault("latitude", 35.65861)
        content.setdefault("longitude", 139.74556)
    elif kind == "sticker":
        content.setdefault("packageId", "446")
        content.setdefault("stickerId", "1988")
        content.setdefault("stickerResourceType", "STATIC")
    return content


def _fill_message(result: dict) -> None:
    result["message"] = message_content(result.get("message") or {})


def _default(key: str, value) -> callable:
    """A filler that sets one content property when it is missing."""

    def fill(result: dict) -> None:
        result.setdefault(key, copy.deepcopy(value))

    return fill


def _members(key: str) -> callable:
    """A filler for memberJoined/memberLeft: one new member unless given."""

    def fill(result: dict) -> None:
        result.setdefault(key, {"members": [user_source(ids.user_id())]})

    return fill


def _fill_link(result: dict) -> None:
    result.setdefault("link", {"result": "ok", "nonce": ids.reply_token()})


def _fill_activated(result: dict) -> None:
    result.setdefault("chatControl", {"expireAt": result["timestamp"] + 3600 * 1000})


CONTENT_DEFAULTS = {
    "message": _fill_message,
    "messageEdited": _fill_message,
    "follow": _default("follow", {"isUnblocked": False}),
    "postback": _default("postback", {"data": ""}),
    "unsend": _default("unsend", {"messageId": "0"}),
    "memberJoined": _members("joined"),
    "memberLeft": _members("left"),
    "accountLink": _fill_link,
    "beacon": _default("beacon", {"hwid": "d41d8cd98f", "type": "enter"}),
    "videoPlayComplete": _default("videoPlayComplete", {"trackingId": "track-id"}),
    "membership": _default("membership", {"type": "joined", "membershipId": 1}),
    "activated": _fill_activated,
    "module": _default("module", {"type": "attached", "botId": "U" + "0" * 32, "scopes": ["message.write"]}),
    "delivery": _default("delivery", {"data": "delivery-data"}),
}
