"""The preview "as the friend will see it": messages rendered for a sample friend, drawn as LINE's chat bubbles
(templates/message_templates/_bubbles.html)."""

from __future__ import annotations

from sqlmodel import Session

from crm.errors import N_
from crm.friends.models import Friend
from crm.message_templates import content, parts

SAMPLE_NAME = "山田 花子"
KIND_LABELS = {
    "text": N_("Text"),
    "image": N_("Image"),
    "sticker": N_("Sticker"),
    "flex": N_("Flex (JSON)"),
    "buttons": N_("Buttons"),
    "confirm": N_("Confirm (2 choices)"),
    "carousel": N_("Carousel"),
    "image_carousel": N_("Image carousel"),
}


def bubbles(session: Session, messages: list[dict], *, neutral: str, name: str | None = SAMPLE_NAME) -> list[dict]:
    """The messages filled for a sample friend (fields shown by their key), images under this CRM's own URL."""
    sample = Friend(display_name=name, line_user_id="U" + "0" * 32)
    fields = {key: f"〈{key}〉" for key in content.field_keys(messages)}
    rendered = content.render(
        session,
        messages,
        friend=sample,
        base_url="",
        broadcast_id=None,
        track_links=False,
        fields=fields,
        neutral_address=neutral,
    )
    return [_bubble(message) for message in rendered]


def _bubble(message: dict) -> dict:
    """What the page draws for one message: its kind and, for templates, its cards."""
    template = parts.template_of(message)
    if template is None:
        return {"kind": message.get("type"), "message": message}
    cards = parts.columns(template)
    return {"kind": template.get("type"), "message": message, "template": template, "cards": cards}


def kind_of(message: dict) -> str:
    """The editor's kind of a stored message (a template message by its template's type)."""
    template = parts.template_of(message)
    return template.get("type", "template") if template else message.get("type", "")


def summary(messages: list[dict]) -> list[str]:
    """The kinds of a template's messages, as msgids for the list page."""
    return [KIND_LABELS.get(kind_of(message), N_("Text")) for message in messages]
