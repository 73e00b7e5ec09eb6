"""The editor's form and LINE's message objects, each made from the other, and the editor's commands
(add or remove a message, a card, a button)."""

from __future__ import annotations

import json

from crm.errors import N_
from crm.message_templates import media
from crm.message_templates.content import MAX_MESSAGES
from crm.message_templates.errors import ContentError
from crm.message_templates.forms import MAX_ACTIONS, MAX_CARDS, TEMPLATE_KINDS
from crm.message_templates.parts import ALT_TEXT_MAX
from crm.postback_actions.signing import PREFIX as ACTIONS_PREFIX

ACTION_VALUE_KEY = {"uri": "uri", "message": "text", "postback": "data", "datetimepicker": "data", "actions": "data"}
RUN_ACTIONS = "actions"  # a postback button whose data is a signed reference to stored actions


def form_data(name: str, folder: str | None, messages: list[dict]) -> dict:
    """The editor form's data for stored messages."""
    return {"name": name, "folder": folder or "", "messages": [_message_data(message) for message in messages]}


def _message_data(message: dict) -> dict:
    kind = message.get("type")
    if kind == "text":
        return {"kind": "text", "text": message.get("text", "")}
    if kind == "image":
        return {"kind": "image", "image_url": message.get("originalContentUrl", "")}
    if kind == "sticker":
        return {"kind": "sticker", "package_id": message.get("packageId"), "sticker_id": message.get("stickerId")}
    if kind == "flex":
        contents = json.dumps(message.get("contents"), ensure_ascii=False, indent=2)
        return {"kind": "flex", "alt_text": message.get("altText", ""), "flex_json": contents}
    template = message.get("template") or {}
    kind = template.get("type")
    columns = template.get("columns", []) if kind in ("carousel", "image_carousel") else [template]
    cards = [_image_card_data(column) if kind == "image_carousel" else _card_data(column) for column in columns]
    return {"kind": kind, "alt_text": message.get("altText", ""), "cards": cards}


def _card_data(column: dict) -> dict:
    return {
        "title": column.get("title", ""),
        "text": column.get("text", ""),
        "image_url": column.get("thumbnailImageUrl", ""),
        "actions": [_action_data(action) for action in column.get("actions", [])],
    }


def _image_card_data(column: dict) -> dict:
    return {"image_url": column.get("imageUrl", ""), "actions": [_action_data(column.get("action") or {})]}


def _action_data(action: dict) -> dict:
    kind = action.get("type", "uri")
    if kind == "postback" and str(action.get("data") or "").startswith(ACTIONS_PREFIX):
        kind = RUN_ACTIONS
    return {
        "kind": kind,
        "label": action.get("label", ""),
        "value": action.get(ACTION_VALUE_KEY.get(kind, "uri"), ""),
        "display_text": action.get("displayText", ""),
        "mode": action.get("mode", "datetime"),
    }


def messages_from(form) -> list[dict]:
    """LINE message objects from the editor form (checked afterwards by content.validate_messages)."""
    return [_message(index, entry.form) for index, entry in enumerate(form.messages)]


def _message(index: int, entry) -> dict:
    kind = entry.kind.data
    if kind == "text":
        return {"type": "text", "text": entry.text.data or ""}
    if kind == "image":
        url = entry.image_url.data or ""
        return {"type": "image", "originalContentUrl": url, "previewImageUrl": media.preview_of(url)}
    if kind == "sticker":
        return {"type": "sticker", "packageId": _stripped(entry.package_id), "stickerId": _stripped(entry.sticker_id)}
    if kind == "flex":
        try:
            contents = json.loads(entry.flex_json.data or "")
        except ValueError:
            raise ContentError(N_("The flex contents are not valid JSON."), index=index) from None
        return {"type": "flex", "altText": _stripped(entry.alt_text), "contents": contents}
    cards = [card.form for card in entry.cards]
    if kind == "image_carousel":
        template = {"type": kind, "columns": [_image_column(card) for card in cards]}
    elif kind == "carousel":
        template = {"type": kind, "columns": [_column(card) for card in cards]}
    else:
        template = {"type": kind, **_column(cards[0], with_extras=kind == "buttons")}
    alt_text = _stripped(entry.alt_text) or _default_alt_text(cards)
    return {"type": "template", "altText": alt_text, "template": template}


def _default_alt_text(cards) -> str:
    """What the notification says when staff leave it empty: the first card's title or text."""
    first = cards[0] if cards else None
    text = (first.title.data or first.text.data or "") if first else ""
    return " ".join(text.split())[:ALT_TEXT_MAX]


def _column(card, *, with_extras: bool = True) -> dict:
    column = {"text": card.text.data or ""}
    if with_extras and _stripped(card.title):
        column["title"] = _stripped(card.title)
    if with_extras and card.image_url.data:
        column["thumbnailImageUrl"] = card.image_url.data
    column["actions"] = [action for entry in card.actions if (action := _action(entry.form, label_required=True))]
    return column


def _image_column(card) -> dict:
    actions = [action for entry in card.actions if (action := _action(entry.form, label_required=False))]
    column = {"imageUrl": card.image_url.data or ""}
    if actions:
        column["action"] = actions[0]
    return column


def _action(entry, *, label_required: bool) -> dict | None:
    """A button's action, or None for a row left empty."""
    kind, label, value = entry.kind.data, _stripped(entry.label), _stripped(entry.value)
    if not label and not value:
        return None
    action = {"type": "postback" if kind == RUN_ACTIONS else kind}
    if label or label_required:
        action["label"] = label
    action[ACTION_VALUE_KEY.get(kind, "uri")] = value
    if kind in ("postback", RUN_ACTIONS) and _stripped(entry.display_text):
        action["displayText"] = _stripped(entry.display_text)
    if kind == "datetimepicker":
        action["mode"] = entry.mode.data
    return action


def _stripped(field) -> str:
    return (field.data or "").strip()


def apply_command(form, command: str) -> bool:
    """Add or remove a message, card or button as the pressed button says; False for an unknown command."""
    verb, _, where = command.partition(":")
    place = [int(part) for part in where.split("-") if part.isdigit()]
    try:
        if verb == "add_message" and len(form.messages) < MAX_MESSAGES:
            form.messages.append_entry()
        elif verb == "remove_message" and len(form.messages) > 1:
            form.messages.entries.pop(place[0])
        elif verb == "add_card" and len(_cards(form, place)) < MAX_CARDS:
            _cards(form, place).append_entry()
        elif verb == "remove_card" and len(_cards(form, place)) > 1:
            _cards(form, place).entries.pop(place[1])
        elif verb == "add_action":
            actions = _cards(form, place)[place[1]].form.actions
            kind = form.messages[place[0]].form.kind.data
            if len(actions) < MAX_ACTIONS.get(kind, 1):
                actions.append_entry()
        elif verb == "remove_action":
            _cards(form, place)[place[1]].form.actions.entries.pop(place[2])
        else:
            return verb == "refresh"
    except IndexError:
        return False
    return True


def _cards(form, place: list[int]):
    return form.messages[place[0]].form.cards


def is_template_kind(kind: str) -> bool:
    """Whether the message type is edited as cards with buttons."""
    return kind in TEMPLATE_KINDS
