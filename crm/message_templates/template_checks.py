"""LINE's limits for template messages (buttons, confirm, carousel, image carousel) that the SDK does not check.

Each error names the message and the part at fault, e.g.
「2通目・カード1のボタン3のラベル：必須で、20文字以内にしてください。」
"""

from __future__ import annotations

import re

from crm.chat.service import utf16_length
from crm.errors import N_
from crm.message_templates import media
from crm.message_templates.errors import ContentError, Part
from crm.message_templates.parts import ALT_TEXT_MAX, TITLE_MAX, columns, text_limit

KINDS = ("buttons", "confirm", "carousel", "image_carousel")
ACTION_COUNTS = {"buttons": (1, 4), "confirm": (2, 2), "carousel": (1, 3)}
COLUMNS_MAX = 10
LABEL_MAX, IMAGE_LABEL_MAX = 20, 12
URI_MAX, ACTION_TEXT_MAX = 1000, 300
URI_SCHEMES = ("https://", "http://", "line://", "tel:")
DATETIME_FORMATS = {
    "date": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "time": re.compile(r"\d{2}:\d{2}"),
    "datetime": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"),
}
REQUIRED_MAX = N_("it is required and at most %(limit)s characters.")
AT_MOST = N_("it must be at most %(limit)s characters.")


def fail(index: int, part: Part, problem: str, **params) -> ContentError:
    """The error of one part of message `index` (0-based)."""
    return ContentError(
        N_("Message %(number)s, %(part)s: %(problem)s"),
        index=index,
        number=index + 1,
        part=part,
        problem=Part(problem, **params),
    )


def check_template_message(index: int, message: dict, *, allow_uploaded: bool) -> None:
    """Raise ContentError for the first limit of LINE's that the template message breaks."""
    _check_length(index, message, "altText", Part(N_("the notification text")), ALT_TEXT_MAX, required=True)
    template = message.get("template")
    if not isinstance(template, dict) or template.get("type") not in KINDS:
        raise fail(index, Part(N_("the template")), N_("use buttons, confirm, carousel or image carousel."))
    kind = template["type"]
    if kind in ("buttons", "confirm"):
        _check_column(index, kind, template, None, allow_uploaded)
        return
    found = columns(template)
    if not 1 <= len(found) == len(template.get("columns") or []) <= COLUMNS_MAX:
        raise fail(index, Part(N_("the cards")), N_("use between 1 and %(limit)s cards."), limit=COLUMNS_MAX)
    for number, column in enumerate(found, start=1):
        _check_column(index, kind, column, number, allow_uploaded)
    if kind == "carousel":
        _check_carousel_shape(index, found)


def _check_carousel_shape(index: int, found: list[dict]) -> None:
    """LINE refuses a carousel whose cards differ in their number of buttons, or in having a title or image."""
    if len({len(column.get("actions") or []) for column in found}) > 1:
        raise fail(index, Part(N_("the cards")), N_("every card needs the same number of buttons."))
    for key, problem in (
        ("title", N_("if one card has a title, every card needs one.")),
        ("thumbnailImageUrl", N_("if one card has an image, every card needs one.")),
    ):
        if len({bool(column.get(key)) for column in found}) > 1:
            raise fail(index, Part(N_("the cards")), problem)


def _where(card: int | None, part: Part) -> Part:
    return Part(N_("card %(card)s, %(part)s"), card=card, part=part) if card else part


def _check_column(index: int, kind: str, column: dict, card: int | None, allow_uploaded: bool) -> None:
    """A buttons or confirm template, or one carousel card."""
    image_key = "imageUrl" if kind == "image_carousel" else "thumbnailImageUrl"
    if (kind == "image_carousel" or column.get(image_key) is not None) and not media.is_image_address(
        column.get(image_key), allow_uploaded=allow_uploaded
    ):
        raise fail(index, _where(card, Part(N_("the image"))), N_("use an https image address or an uploaded image."))
    if kind == "image_carousel":
        if not isinstance(column.get("action"), dict):
            raise fail(index, _where(card, Part(N_("the image"))), N_("choose what tapping the image does."))
        _check_action(index, column["action"], _where(card, Part(N_("the image"))), IMAGE_LABEL_MAX, False)
        return
    if kind != "confirm":
        _check_length(index, column, "title", _where(card, Part(N_("the title"))), TITLE_MAX, required=False)
    limit = text_limit(kind, column)
    _check_length(index, column, "text", _where(card, Part(N_("the text"))), limit, required=True)
    _check_actions(index, kind, column, card)


def _check_actions(index: int, kind: str, column: dict, card: int | None) -> None:
    low, high = ACTION_COUNTS[kind]
    found = column.get("actions")
    if not isinstance(found, list) or not low <= len(found) <= high:
        part = _where(card, Part(N_("the buttons")))
        if low == high:
            raise fail(index, part, N_("a confirm message has exactly %(count)s buttons."), count=low)
        raise fail(index, part, N_("use between %(low)s and %(high)s buttons."), low=low, high=high)
    for number, action in enumerate(found, start=1):
        _check_action(index, action, _where(card, Part(N_("button %(button)s"), button=number)), LABEL_MAX, True)
    if column.get("defaultAction") is not None:
        _check_action(index, column["defaultAction"], _where(card, Part(N_("the tap action"))), LABEL_MAX, False)


def _check_action(index: int, action, part: Part, label_max: int, label_required: bool) -> None:
    """One uri, message, postback or date-and-time picker action."""
    kind = action.get("type") if isinstance(action, dict) else None
    if kind not in ("uri", "message", "postback", "datetimepicker"):
        raise fail(index, part, N_("use a link, message, postback or date picker action."))
    label = Part(N_("%(part)s's label"), part=part)
    _check_length(index, action, "label", label, label_max, required=label_required)
    if kind == "uri":
        uri = action.get("uri")
        if not isinstance(uri, str) or not uri.startswith(URI_SCHEMES) or len(uri) > URI_MAX:
            raise fail(index, part, N_("the link must start with https://, http://, line:// or tel: (at most 1000)."))
    elif kind == "message":
        text = Part(N_("%(part)s's text to send"), part=part)
        _check_length(index, action, "text", text, ACTION_TEXT_MAX, required=True)
    else:
        data = Part(N_("%(part)s's data"), part=part)
        _check_length(index, action, "data", data, ACTION_TEXT_MAX, required=True)
        shown = Part(N_("%(part)s's displayed text"), part=part)
        _check_length(index, action, "displayText", shown, ACTION_TEXT_MAX, required=False)
    if kind == "datetimepicker":
        _check_picker(index, action, part)


def _check_picker(index: int, action: dict, part: Part) -> None:
    pattern = DATETIME_FORMATS.get(action.get("mode"))
    if pattern is None:
        raise fail(index, part, N_("choose a date, a time, or a date and time."))
    for key in ("initial", "min", "max"):
        value = action.get(key)
        if value is not None and not (isinstance(value, str) and pattern.fullmatch(value)):
            raise fail(index, part, N_("%(key)s is not in LINE's format for this mode."), key=key)


def _check_length(index: int, holder: dict, key: str, part: Part, limit: int, *, required: bool) -> None:
    value = holder.get(key)
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value.strip()) or utf16_length(value) > limit:
        raise fail(index, part, REQUIRED_MAX if required else AT_MOST, limit=limit)
