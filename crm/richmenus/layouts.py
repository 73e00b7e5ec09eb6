"""Rich menu builder rules: sizes, layout templates, areas and their actions, checked against LINE's limits."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from urllib.parse import quote, urlsplit

from crm.chat.service import utf16_length
from crm.errors import N_, TranslatableError


class RichMenuError(TranslatableError):
    """Something the builder or LINE refused; each problem is (msgid, params) for the edge to translate."""

    def __init__(self, msgid: str, **params):
        super().__init__(msgid, **params)
        self.problems = [(msgid, params)]

    @classmethod
    def many(cls, problems: list[tuple[str, dict]]) -> RichMenuError:
        """One error carrying several problems."""
        error = cls(problems[0][0], **problems[0][1])
        error.problems = list(problems)
        return error


SIZES = {"full": (2500, 1686), "half": (2500, 843)}
SIZE_LABELS = {"full": N_("Large (2500 × 1686)"), "half": N_("Compact (2500 × 843)")}
MAX_AREAS = 20
MAX_CHAT_BAR = 14
MAX_NAME = 300
MAX_LABEL = 20
MAX_DATA = 300
MAX_URI = 1000
ALIAS_RE = re.compile(r"^[a-z0-9_-]{1,32}$")
SWITCH_DATA_PREFIX = "richmenu-switch="
CUSTOM = "custom"

# key -> (label, columns, rows, cells as (column, row, column span, row span)), after LINE's own templates.
LAYOUTS = {
    "grid6": (
        N_("6 areas: 3 × 2"),
        3,
        2,
        ((0, 0, 1, 1), (1, 0, 1, 1), (2, 0, 1, 1), (0, 1, 1, 1), (1, 1, 1, 1), (2, 1, 1, 1)),
    ),
    "grid4": (N_("4 areas: 2 × 2"), 2, 2, ((0, 0, 1, 1), (1, 0, 1, 1), (0, 1, 1, 1), (1, 1, 1, 1))),
    "top1_bottom3": (
        N_("4 areas: 1 wide on top, 3 below"),
        3,
        2,
        ((0, 0, 3, 1), (0, 1, 1, 1), (1, 1, 1, 1), (2, 1, 1, 1)),
    ),
    "left1_right2": (
        N_("3 areas: 1 large on the left, 2 on the right"),
        3,
        2,
        ((0, 0, 2, 2), (2, 0, 1, 1), (2, 1, 1, 1)),
    ),
    "top1_bottom2": (N_("3 areas: 1 wide on top, 2 below"), 2, 2, ((0, 0, 2, 1), (0, 1, 1, 1), (1, 1, 1, 1))),
    "cols3": (N_("3 areas side by side"), 3, 1, ((0, 0, 1, 1), (1, 0, 1, 1), (2, 0, 1, 1))),
    "cols2": (N_("2 areas side by side"), 2, 1, ((0, 0, 1, 1), (1, 0, 1, 1))),
    "rows2": (N_("2 areas, one above the other"), 1, 2, ((0, 0, 1, 1), (0, 1, 1, 1))),
    "wide_left": (N_("2 areas: wide left, narrow right"), 3, 1, ((0, 0, 2, 1), (2, 0, 1, 1))),
    "wide_right": (N_("2 areas: narrow left, wide right"), 3, 1, ((0, 0, 1, 1), (1, 0, 2, 1))),
    "single": (N_("1 area: the whole image"), 1, 1, ((0, 0, 1, 1),)),
}
CUSTOM_LABEL = N_("Custom rectangles (up to 20)")

ACTION_KINDS = ("postback", "uri", "message", "switch", "actions")
ACTION_LABELS = {
    "postback": N_("Start a survey"),
    "uri": N_("Open a URL"),
    "message": N_("Send a text"),
    "switch": N_("Switch to another menu tab"),
    "actions": N_("Run actions"),
}
MAX_DISPLAY_TEXT = 300


@dataclass(frozen=True)
class Action:
    """What tapping an area does: kind is postback, uri, message, switch or actions (value: data, URL, text, tab ID,
    or the signed reference to the stored actions); `display_text` is what the friend appears to say on a tap
    that runs actions."""

    kind: str
    value: str
    label: str = ""
    display_text: str = ""


@dataclass(frozen=True)
class Area:
    """A rectangle of the image, in image pixels, with its action (None while the draft is unfinished)."""

    x: int
    y: int
    width: int
    height: int
    action: Action | None = None


def size_of(size: str) -> tuple[int, int]:
    """The image size in pixels for a size key."""
    if size not in SIZES:
        raise RichMenuError(N_("Choose the large or the compact size."))
    return SIZES[size]


def layout_bounds(layout: str, size: str) -> list[tuple[int, int, int, int]]:
    """The (x, y, width, height) of each cell of a layout template, tiling the image exactly."""
    width, height = size_of(size)
    _label, columns, rows, cells = LAYOUTS[layout]
    bounds = []
    for column, row, column_span, row_span in cells:
        x, y = width * column // columns, height * row // rows
        bounds.append((x, y, width * (column + column_span) // columns - x, height * (row + row_span) // rows - y))
    return bounds


def apply_layout(layout: str, size: str, areas: list[Area]) -> list[Area]:
    """Areas shaped by a template, keeping the actions in order; custom layouts keep their own rectangles."""
    if layout == CUSTOM:
        return list(areas)
    if layout not in LAYOUTS:
        raise RichMenuError(N_("Choose a layout."))
    actions = [area.action for area in areas]
    return [
        Area(x, y, w, h, actions[index] if index < len(actions) else None)
        for index, (x, y, w, h) in enumerate(layout_bounds(layout, size))
    ]


def clean_uri(value: str) -> str:
    """Percent-encode non-ASCII characters (LINE wants UTF-8 percent-encoding) and require http or https."""
    uri = quote(value.strip(), safe=":/?#[]@!$&'()*+,;=%~")
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RichMenuError(N_("Enter a URL that starts with http:// or https://."))
    if len(uri) > MAX_URI:
        raise RichMenuError(
            N_("A URL can have at most %(max)d characters (now %(count)d)."), max=MAX_URI, count=len(uri)
        )
    return uri


def clean_action(action: Action) -> Action:
    """Check one action against LINE's limits and return it normalised."""
    value, label, display_text = action.value.strip(), action.label.strip(), action.display_text.strip()
    if action.kind not in ACTION_KINDS:
        raise RichMenuError(N_("Choose what the area does."))
    if utf16_length(label) > MAX_LABEL:
        raise RichMenuError(N_("A label can have at most %(max)d characters."), max=MAX_LABEL)
    if not value:
        raise RichMenuError(N_("Fill in what the area sends, opens or switches to."))
    if action.kind == "uri":
        value = clean_uri(value)
    elif action.kind == "switch" and not ALIAS_RE.match(value):
        raise RichMenuError(N_("A tab ID has 1 to 32 characters: a–z, 0–9, - and _."))
    elif action.kind in ("postback", "message", "actions") and utf16_length(value) > MAX_DATA:
        raise RichMenuError(
            N_("Postback data and texts can have at most %(max)d characters (now %(count)d)."),
            max=MAX_DATA,
            count=utf16_length(value),
        )
    if action.kind != "actions":
        display_text = ""
    elif utf16_length(display_text) > MAX_DISPLAY_TEXT:
        raise RichMenuError(N_("The text shown in the chat can have at most %(max)d characters."), max=MAX_DISPLAY_TEXT)
    return Action(action.kind, value, label, display_text)


def check_bounds(area: Area, size: str) -> None:
    """An area must be a non-empty rectangle inside the image."""
    width, height = size_of(size)
    if min(area.x, area.y) < 0 or min(area.width, area.height) < 1:
        raise RichMenuError(N_("Give every area a position of 0 or more and a width and height of at least 1."))
    if area.x + area.width > width or area.y + area.height > height:
        raise RichMenuError(
            N_("Keep every area inside the image (%(width)d × %(height)d)."), width=width, height=height
        )


def clean_areas(areas: list[Area], size: str) -> list[Area]:
    """Check every area; problems are numbered by area (1-based) and reported together."""
    if not 1 <= len(areas) <= MAX_AREAS:
        raise RichMenuError(N_("A rich menu has 1 to %(max)d areas."), max=MAX_AREAS)
    cleaned, problems = [], []
    for number, area in enumerate(areas, start=1):
        try:
            check_bounds(area, size)
            action = clean_action(area.action) if area.action is not None else None
        except RichMenuError as error:
            problems += [
                (N_("Area %(number)d: %(problem)s"), {"number": number, "problem": (msgid, params)})
                for msgid, params in error.problems
            ]
            continue
        cleaned.append(Area(area.x, area.y, area.width, area.height, action))
    if problems:
        raise RichMenuError.many(problems)
    return cleaned


def clean_texts(name: str, chat_bar_text: str) -> tuple[str, str]:
    """The menu's name (1–300) and chat-bar text (1–14), trimmed."""
    name, chat_bar_text = (name or "").strip(), (chat_bar_text or "").strip()
    if not 1 <= utf16_length(name) <= MAX_NAME:
        raise RichMenuError(N_("Enter a name of 1 to %(max)d characters."), max=MAX_NAME)
    if not 1 <= utf16_length(chat_bar_text) <= MAX_CHAT_BAR:
        raise RichMenuError(
            N_("The chat-bar text has 1 to %(max)d characters (now %(count)d)."),
            max=MAX_CHAT_BAR,
            count=utf16_length(chat_bar_text),
        )
    return name, chat_bar_text


def clean_alias(alias_id: str | None) -> str | None:
    """The menu's own tab ID (LINE alias), or None."""
    alias_id = (alias_id or "").strip()
    if alias_id and not ALIAS_RE.match(alias_id):
        raise RichMenuError(N_("A tab ID has 1 to 32 characters: a–z, 0–9, - and _."))
    return alias_id or None


def dump_areas(areas: list[Area]) -> str:
    """Areas as stored in RichMenu.areas (an action's display text only when it has one)."""
    return json.dumps([_area_data(area) for area in areas], ensure_ascii=False)


def _area_data(area: Area) -> dict:
    data = asdict(area)
    if data["action"] and not data["action"]["display_text"]:
        del data["action"]["display_text"]
    return data


def load_areas(text: str) -> list[Area]:
    """Areas from RichMenu.areas."""
    return [
        Area(
            item["x"],
            item["y"],
            item["width"],
            item["height"],
            Action(**item["action"]) if item.get("action") else None,
        )
        for item in json.loads(text or "[]")
    ]


def line_action(action: Action, link: Callable[[str], str] = str) -> dict:
    """The LINE action object for an area; `link` may turn a URL area's address into a tracked one."""
    body = {
        "postback": {"type": "postback", "data": action.value},
        "uri": {"type": "uri", "uri": link(action.value) if action.kind == "uri" else action.value},
        "message": {"type": "message", "text": action.value},
        "switch": {
            "type": "richmenuswitch",
            "richMenuAliasId": action.value,
            "data": SWITCH_DATA_PREFIX + action.value,
        },
        "actions": {"type": "postback", "data": action.value},
    }[action.kind]
    if action.kind == "actions" and action.display_text:
        body["displayText"] = action.display_text
    return {**body, "label": action.label} if action.label else body


def line_menu(
    *, name: str, chat_bar_text: str, size: str, selected: bool, areas: list[Area], link: Callable[[str], str] = str
) -> dict:
    """The LINE rich menu object (every area must have an action)."""
    width, height = size_of(size)
    return {
        "size": {"width": width, "height": height},
        "selected": selected,
        "name": name,
        "chatBarText": chat_bar_text,
        "areas": [
            {
                "bounds": {"x": a.x, "y": a.y, "width": a.width, "height": a.height},
                "action": line_action(a.action, link),
            }
            for a in areas
        ],
    }
