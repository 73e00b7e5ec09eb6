"""Forms of the broadcast console: the composer (up to 5 message slots, or 2-4 A/B variants of them),
scheduling, test friends."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateTimeLocalField, SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from crm.broadcasts.options import CAP_COUNT_MAX, CAP_DAYS_MAX, CONTROL_MAX, GOAL_DAYS_MAX
from crm.broadcasts.quick_audience import MATCH_WORDS, QUICK, read_tag_tree, tag_tree
from crm.broadcasts.variants import LABELS, MAX_VARIANTS, WEIGHT_TOTAL
from crm.line import stickers
from crm.segments.condition_select import KEEP
from crm.timeutil import TOKYO

MESSAGE_SLOTS = 5
STICKER_CHOICES = [
    SelectChoice(stickers.sticker_value(package, sticker), f"{package}/{sticker}")
    for package, sticker in stickers.standard_stickers()
]
KINDS = [
    SelectChoice("", _l("(no message)")),
    SelectChoice("text", _l("Text")),
    SelectChoice("image", _l("Image")),
    SelectChoice("sticker", _l("Sticker")),
    SelectChoice("flex", _l("Flex message (JSON)")),
    SelectChoice("template", _l("Buttons, confirm or carousel (JSON, from a template)")),
]


class MessageForm(Form):
    """One message slot; which inputs matter depends on its kind."""

    kind = SelectField(_l("Kind"), choices=KINDS, default="")
    text = TextAreaField(_l("Text ({name} = display name, {field:key} = a field)"))
    image_url = StringField(_l("Image URL (https)"))
    preview_url = StringField(_l("Preview image URL (https, optional)"))
    image = FileField(_l("Upload an image (JPEG or PNG, up to 10 MB)"))
    # Picked from LINE's standard stickers ("package:sticker"); a stored one outside the list stays choosable.
    sticker = RadioField(_l("Sticker"), choices=STICKER_CHOICES, validate_choice=False)
    alt_text = StringField(_l("Alternative text"))
    flex = TextAreaField(_l("Flex contents (JSON)"))
    template = TextAreaField(_l("Template message (JSON)"))

    def to_message(self) -> dict | None:
        """The slot as a LINE message dict (None when empty); ValueError for flex that is not JSON."""
        kind, strip = self.kind.data, lambda field: (field.data or "").strip()
        if kind == "text":
            return {"type": "text", "text": self.text.data or ""}
        if kind == "image":
            return {
                "type": "image",
                "originalContentUrl": strip(self.image_url),
                "previewImageUrl": strip(self.preview_url) or strip(self.image_url),
            }
        if kind == "sticker":
            package_id, sticker_id = stickers.parse_sticker_value(self.sticker.data)
            return {"type": "sticker", "packageId": package_id, "stickerId": sticker_id}
        if kind == "flex":
            try:
                contents = json.loads(self.flex.data or "")
            except RecursionError:  # brackets nested thousands deep: unreadable, like any other bad JSON
                raise ValueError("flex contents nested too deeply") from None
            return {"type": "flex", "altText": strip(self.alt_text), "contents": contents}
        if kind == "template":
            return json.loads(self.template.data or "")
        return None

    @staticmethod
    def slot_data(message: dict) -> dict:
        """Form data for a stored message (the reverse of to_message)."""
        kind = message.get("type", "")
        if kind == "template":
            return {"kind": kind, "template": json.dumps(message, ensure_ascii=False, indent=2)}
        if kind == "flex":
            return {
                "kind": kind,
                "alt_text": message.get("altText", ""),
                "flex": json.dumps(message.get("contents"), ensure_ascii=False, indent=2),
            }
        return {
            "kind": kind,
            "text": message.get("text", ""),
            "image_url": message.get("originalContentUrl", ""),
            "preview_url": message.get("previewImageUrl", ""),
            "sticker": stickers.sticker_value(message["packageId"], message["stickerId"])
            if kind == "sticker" and message.get("stickerId")
            else None,
        }


def keep_unlisted_sticker(slot: MessageForm) -> None:
    """Offer a slot's stored sticker that is not among the standard ones, so that saving keeps it."""
    if slot.sticker.data and slot.sticker.data not in {choice.value for choice in STICKER_CHOICES}:
        package_id, sticker_id = stickers.parse_sticker_value(slot.sticker.data)
        slot.sticker.choices = [*STICKER_CHOICES, SelectChoice(slot.sticker.data, f"{package_id}/{sticker_id}")]


def filled_messages(slots: FieldList) -> list[dict]:
    """The filled message slots as LINE message dicts, in order (ValueError from a flex slot that is not JSON)."""
    return [message for slot in slots for message in [slot.form.to_message()] if message]


class VariantForm(Form):
    """One A/B variant: its share of the sent group and its own message slots."""

    weight = IntegerField(_l("Share of the sent group (%)"), validators=[Optional(), NumberRange(1, WEIGHT_TOTAL - 1)])
    messages = FieldList(FormField(MessageForm), min_entries=MESSAGE_SLOTS, max_entries=MESSAGE_SLOTS)


class ComposerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    purpose = TextAreaField(_l("Purpose (why this is sent)"), validators=[Optional(), Length(max=500)])
    messages = FieldList(FormField(MessageForm), min_entries=MESSAGE_SLOTS, max_entries=MESSAGE_SLOTS)
    segment = SelectField(_l("Recipients"), choices=[])
    # A quick audience (the `segment` choice QUICK): friends with all / any / none of the ticked tags.
    quick_match = RadioField(
        _l("Which friends"), choices=[SelectChoice(key, _l(words)) for key, words in MATCH_WORDS.items()], default="any"
    )
    quick_tags = SelectMultipleField(
        _l("Tags"), choices=[], widget=ListWidget(prefix_label=False), option_widget=CheckboxInput()
    )
    track_links = BooleanField(_l("Track link clicks"), default=True)
    control_percent = IntegerField(
        _l("Control group: percent held out, never sent"),
        default=0,
        validators=[InputRequired(), NumberRange(0, CONTROL_MAX)],
    )
    cap_count = IntegerField(
        _l("Frequency cap: at most this many broadcasts"), validators=[Optional(), NumberRange(1, CAP_COUNT_MAX)]
    )
    cap_days = IntegerField(_l("… in this many days"), validators=[Optional(), NumberRange(1, CAP_DAYS_MAX)])
    goal_kind = SelectField(
        _l("Goal"),
        default="",
        choices=[
            SelectChoice("", _l("No goal")),
            SelectChoice("tag", _l("A tag is added")),
            SelectChoice("link", _l("A link is clicked")),
        ],
    )
    goal_tag = SelectField(_l("Goal tag"), choices=[], validate_choice=False)
    goal_link = SelectField(_l("Goal link"), choices=[], validate_choice=False)
    goal_days = IntegerField(
        _l("Goal period (days after the send)"), default=7, validators=[Optional(), NumberRange(1, GOAL_DAYS_MAX)]
    )
    # An A/B test: 2-4 variants replace the single content above (none: no A/B test).
    variants = FieldList(FormField(VariantForm), min_entries=0, max_entries=MAX_VARIANTS)

    def message_list(self) -> list[dict]:
        """The filled slots as LINE message dicts, in order (ValueError from a flex slot that is not JSON)."""
        return filled_messages(self.messages)

    def variant_list(self) -> list[dict] | None:
        """The A/B variants as {"weight", "messages"} (None: no A/B test); ValueError like message_list."""
        if not self.variants.entries:
            return None
        return [
            {"weight": entry.form.weight.data, "messages": filled_messages(entry.form.messages)}
            for entry in self.variants
        ]

    def labelled_variants(self) -> list[tuple[str, VariantForm]]:
        """(label, form) of each variant entry: A, B, C, D in order."""
        return list(zip(LABELS, (entry.form for entry in self.variants), strict=False))

    def validate_quick_tags(self, field) -> None:
        if self.segment.data == QUICK and not field.data:
            raise ValidationError(_l("Tick at least one tag."))

    def audience(self, current_tree: str | None) -> tuple[int | None, dict | str | None]:
        """(saved segment id, condition tree): every friend, a saved segment, a quick audience of tags, or
        the broadcast's stored tree kept as it is (`current_tree`)."""
        choice = self.segment.data or ""
        if choice == QUICK:
            return None, tag_tree([int(tag_id) for tag_id in self.quick_tags.data], self.quick_match.data)
        if choice == KEEP:
            return None, current_tree
        return (int(choice) if choice.isdigit() else None), None

    def goal(self) -> dict | None:
        """The goal the form describes, or None."""
        kind = self.goal_kind.data
        raw = self.goal_tag.data if kind == "tag" else self.goal_link.data if kind == "link" else None
        if not kind:
            return None
        return {"kind": kind, "id": int(raw) if (raw or "").isdigit() else None, "days": self.goal_days.data}


def variant_data(variants) -> list[dict]:
    """Form data of stored variants (crm.broadcasts.variants.Variant)."""
    return [
        {"weight": variant.weight, "messages": [MessageForm.slot_data(message) for message in variant.messages]}
        for variant in variants
    ]


def composer_data(broadcast, variants=()) -> dict:
    """Form data for an existing draft and its A/B variants."""
    goal = json.loads(broadcast.goal) if broadcast.goal else {}
    if variants:
        return {**composer_data(broadcast), "messages": [], "variants": variant_data(variants)}
    return {
        "name": broadcast.name,
        "purpose": broadcast.purpose or "",
        **_audience_data(broadcast),
        "track_links": broadcast.track_links,
        "control_percent": broadcast.control_percent,
        "cap_count": broadcast.cap_count,
        "cap_days": broadcast.cap_days,
        "goal_kind": goal.get("kind", ""),
        "goal_tag": str(goal.get("id", "")) if goal.get("kind") == "tag" else "",
        "goal_link": str(goal.get("id", "")) if goal.get("kind") == "link" else "",
        "goal_days": goal.get("days", 7),
        "messages": [MessageForm.slot_data(message) for message in json.loads(broadcast.messages)],
    }


def _audience_data(broadcast) -> dict:
    """The recipients choice of a stored broadcast: its saved segment, a quick audience, or its own tree kept."""
    if not broadcast.segment_tree:
        return {"segment": str(broadcast.segment_id or "")}
    quick = read_tag_tree(broadcast.segment_tree)
    if quick is None:
        return {"segment": KEEP}
    match, tag_ids = quick
    return {"segment": QUICK, "quick_match": match, "quick_tags": [str(tag_id) for tag_id in tag_ids]}


class ScheduleForm(FlaskForm):
    when = RadioField(
        _l("When"),
        choices=[SelectChoice("now", _l("Send now")), SelectChoice("later", _l("Schedule (Asia/Tokyo time)"))],
        default="now",
    )
    at = DateTimeLocalField(_l("Date and time (Asia/Tokyo)"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    confirm = BooleanField(
        _l("I understand that a sent broadcast cannot be recalled."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )

    def send_at(self) -> datetime | None:
        """The chosen time in UTC (entered as Asia/Tokyo wall time); None = now; ValueError when missing."""
        if self.when.data != "later":
            return None
        if self.at.data is None:
            raise ValueError("missing time")
        return self.at.data.replace(tzinfo=TOKYO).astimezone(UTC)


class ActionForm(FlaskForm):
    """A button-only form (the CSRF token): cancel, approve, resume, test send, remove a test friend."""


class TestFriendForm(FlaskForm):
    friend_id = IntegerField(_l("Friend ID"), validators=[InputRequired(), NumberRange(min=1)])
    label = StringField(_l("Label (whose phone)"), validators=[Optional(), Length(max=100)])
