"""LINE's documented limits that the SDK's models don't enforce, reported with LINE's property paths."""

from __future__ import annotations

import json

MESSAGE_TYPES = (
    "text",
    "textV2",
    "sticker",
    "image",
    "video",
    "audio",
    "location",
    "imagemap",
    "template",
    "flex",
    "coupon",
)
ACTION_TYPES = (
    "postback",
    "message",
    "uri",
    "datetimepicker",
    "camera",
    "cameraRoll",
    "location",
    "richmenuswitch",
    "clipboard",
)
URI_SCHEMES = ("http://", "https://", "line://", "tel:")
TEMPLATE_TEXT = {"buttons": (160, 60), "carousel": (120, 60)}
REQUIRED_BY_TYPE = {
    "image": ("originalContentUrl", "previewImageUrl"),
    "video": ("originalContentUrl", "previewImageUrl"),
    "audio": ("originalContentUrl", "duration"),
    "sticker": ("packageId", "stickerId"),
    "location": ("title", "address", "latitude", "longitude"),
    "template": ("altText", "template"),
    "flex": ("altText", "contents"),
    "imagemap": ("baseUrl", "altText", "baseSize", "actions"),
}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as LINE counts text (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def one_of(values) -> str:
    """LINE's message for an unknown enum value."""
    return f"Must be one of the following values: [{', '.join(values)}]"


class Problems(list):
    """Collected errors, each {"message", "property"} as in LINE's error details."""

    def add(self, prop: str, message: str) -> None:
        """Record one error."""
        self.append({"message": message, "property": prop})

    def required(self, obj: dict, key: str, path: str) -> bool:
        """Record "must be specified" when the key is missing; True when present."""
        if obj.get(key) is None:
            self.add(join(path, key), "must be specified")
            return False
        return True

    def length(self, obj: dict, key: str, path: str, maximum: int, minimum: int = 0) -> None:
        """Check a string's length in UTF-16 code units."""
        value = obj.get(key)
        if isinstance(value, str) and not minimum <= utf16_len(value) <= maximum:
            self.add(join(path, key), f"Length must be between {minimum} and {maximum}")

    def size(self, obj: dict, key: str, path: str, maximum: int, minimum: int = 0) -> None:
        """Check an array's number of items."""
        value = obj.get(key)
        if isinstance(value, list) and not minimum <= len(value) <= maximum:
            self.add(join(path, key), f"Size must be between {minimum} and {maximum}")


def join(path: str, key: str) -> str:
    """A property path such as messages[0].text."""
    return f"{path}.{key}" if path else key


def check_send(body: dict, kind: str, problems: Problems) -> None:
    """Limits of reply, push, multicast, narrowcast and broadcast bodies."""
    required_field = {"reply": "replyToken", "push": "to", "multicast": "to"}.get(kind)
    if required_field:
        problems.required(body, required_field, "")
    if kind == "multicast":
        problems.size(body, "to", "", 500, 1)
    if problems.required(body, "messages", "") and isinstance(body["messages"], list):
        problems.size(body, "messages", "", 5, 1)
        for index, message in enumerate(body["messages"]):
            check_message(message, f"messages[{index}]", problems)


def check_message(message, path: str, problems: Problems) -> None:
    """Limits of one message object."""
    if not isinstance(message, dict):
        return
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        problems.add(join(path, "type"), one_of(MESSAGE_TYPES))
        return
    if kind in ("text", "textV2") and problems.required(message, "text", path):
        if message["text"] == "":
            problems.add(join(path, "text"), "May not be empty")
        problems.length(message, "text", path, 5000)
    for key in REQUIRED_BY_TYPE.get(kind, ()):
        problems.required(message, key, path)
    for key in ("originalContentUrl", "previewImageUrl", "baseUrl"):
        problems.length(message, key, path, 2000)
    problems.length(message, "altText", path, 400)
    if kind == "template" and isinstance(message.get("template"), dict):
        check_template(message["template"], join(path, "template"), problems)
    if kind == "flex":
        check_flex(message.get("contents"), join(path, "contents"), problems)
    if kind == "imagemap" and isinstance(message.get("actions"), list):
        check_imagemap_actions(message["actions"], join(path, "actions"), problems)
    if isinstance(message.get("quickReply"), dict):
        quick_reply = message["quickReply"]
        problems.size(quick_reply, "items", join(path, "quickReply"), 13, 1)
        walk_actions(quick_reply, join(path, "quickReply"), 20, problems)
    if isinstance(message.get("sender"), dict):
        problems.length(message["sender"], "name", join(path, "sender"), 20, 1)


def check_template(template: dict, path: str, problems: Problems) -> None:
    """Limits of buttons, confirm, carousel and image carousel templates."""
    kind = template.get("type")
    if kind == "buttons":
        check_column(template, path, "buttons", 4, problems)
    elif kind == "confirm":
        problems.required(template, "text", path)
        problems.length(template, "text", path, 240)
        problems.size(template, "actions", path, 2, 2)
        walk_actions(template, path, 20, problems, label_required=True)
    elif kind in ("carousel", "image_carousel"):
        problems.size(template, "columns", path, 10, 1)
        columns = [column for column in template.get("columns") or [] if isinstance(column, dict)]
        for index, column in enumerate(columns):
            if kind == "carousel":
                check_column(column, f"{path}.columns[{index}]", "carousel", 3, problems)
            else:
                check_image_url(column, "imageUrl", f"{path}.columns[{index}]", problems)
                problems.required(column, "action", f"{path}.columns[{index}]")
                walk_actions(column, f"{path}.columns[{index}]", 12, problems)
        if kind == "carousel":
            check_carousel_shape(columns, path, problems)
    else:
        problems.add(join(path, "type"), one_of(("buttons", "confirm", "carousel", "image_carousel")))


def check_column(column: dict, path: str, kind: str, max_actions: int, problems: Problems) -> None:
    """Limits of a buttons template or a carousel column."""
    long_text, short_text = TEMPLATE_TEXT[kind]
    has_extra = column.get("title") or column.get("thumbnailImageUrl")
    problems.length(column, "title", path, 40)
    problems.required(column, "text", path)
    problems.length(column, "text", path, short_text if has_extra else long_text)
    problems.required(column, "actions", path)
    problems.size(column, "actions", path, max_actions, 1)
    check_image_url(column, "thumbnailImageUrl", path, problems)
    walk_actions(column, path, 20, problems, label_required=True)


def check_image_url(obj: dict, key: str, path: str, problems: Problems) -> None:
    """A template's image must be an https URL of at most 2000 characters."""
    url = obj.get(key)
    if key == "imageUrl":
        problems.required(obj, key, path)
    if isinstance(url, str) and (not url.startswith("https://") or len(url) > 2000):
        problems.add(join(path, key), "Must be an HTTPS URL of at most 2000 characters")


def check_carousel_shape(columns: list[dict], path: str, problems: Problems) -> None:
    """LINE requires every column to have the same number of actions, and a title or image in all or none."""
    if len({len(column.get("actions") or []) for column in columns}) > 1:
        problems.add(join(path, "columns"), "The number of actions must be the same in all columns")
    for key in ("title", "thumbnailImageUrl"):
        if len({bool(column.get(key)) for column in columns}) > 1:
            problems.add(join(path, "columns"), f"Either all columns or none must have {key}")


def check_flex(contents, path: str, problems: Problems) -> None:
    """Limits of a flex container: JSON size, bubbles per carousel, action labels."""
    if not isinstance(contents, dict):
        return
    carousel = contents.get("type") == "carousel"
    if carousel:
        problems.size(contents, "contents", path, 12, 1)
    limit = 50_000 if carousel else 30_000
    if len(json.dumps(contents, ensure_ascii=False).encode()) > limit:
        problems.add(path, f"Size of the flex {'carousel' if carousel else 'bubble'} must be at most {limit} bytes")
    walk_actions(contents, path, 40, problems)


def check_imagemap_actions(actions: list, path: str, problems: Problems) -> None:
    """Limits of imagemap actions, which carry linkUri/text instead of uri/text of ordinary actions."""
    if len(actions) > 50:
        problems.add(path, "Size must be between 1 and 50")
    for index, action in enumerate(actions):
        if isinstance(action, dict):
            item = f"{path}[{index}]"
            problems.length(action, "label", item, 100)
            problems.length(action, "linkUri", item, 1000)
            problems.length(action, "text", item, 400)


def walk_actions(node, path: str, label_max: int, problems: Problems, *, label_required: bool = False) -> None:
    """Check every action object under node (action, defaultAction, actions[]); `label_required` for the
    buttons of template messages (a default action needs none)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        child = f"{path}[{key}]" if isinstance(key, int) else join(path, key)
        if key in ("action", "defaultAction") and isinstance(value, dict):
            check_action(value, child, label_max, problems)
        elif key == "actions" and isinstance(value, list):
            for index, action in enumerate(value):
                if label_required and isinstance(action, dict):
                    problems.required(action, "label", f"{child}[{index}]")
                check_action(action, f"{child}[{index}]", label_max, problems)
        else:
            walk_actions(value, child, label_max, problems, label_required=label_required)


def check_action(action, path: str, label_max: int, problems: Problems) -> None:
    """Limits of one action object."""
    if not isinstance(action, dict):
        return
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        problems.add(join(path, "type"), one_of(ACTION_TYPES))
        return
    problems.length(action, "label", path, label_max)
    needed = {
        "postback": ("data",),
        "message": ("text",),
        "uri": ("uri",),
        "datetimepicker": ("data", "mode"),
        "richmenuswitch": ("richMenuAliasId", "data"),
        "clipboard": ("clipboardText",),
    }.get(kind, ())
    for key in needed:
        problems.required(action, key, path)
    for key in ("data", "displayText", "fillInText", "text"):
        problems.length(action, key, path, 300)
    problems.length(action, "uri", path, 1000)
    problems.length(action, "clipboardText", path, 1000, 1)
    uri = action.get("uri")
    if kind == "uri" and isinstance(uri, str) and not uri.startswith(URI_SCHEMES):
        problems.add(join(path, "uri"), "Must be an http, https, line or tel URI")
    if kind == "datetimepicker" and action.get("mode") not in (None, "date", "time", "datetime"):
        problems.add(join(path, "mode"), one_of(("date", "time", "datetime")))
