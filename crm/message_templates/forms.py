"""The template editor's forms: up to 5 messages, each edited in the form of its type.

Buttons, confirm and carousels share one shape: cards (a buttons or confirm message is one card) with a title,
a text, an uploaded image and buttons. The page adds and removes messages, cards and buttons by posting the
form back (`command`), so it works without JavaScript and nothing typed is lost.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import FieldList, Form, FormField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import Length, Optional

from crm.message_templates.content import MAX_MESSAGES
from crm.message_templates.service import FOLDER_MAX, NAME_MAX

MESSAGE_KINDS = (
    ("text", _l("Text")),
    ("image", _l("Image")),
    ("sticker", _l("Sticker")),
    ("buttons", _l("Buttons")),
    ("confirm", _l("Confirm (2 choices)")),
    ("carousel", _l("Carousel")),
    ("image_carousel", _l("Image carousel")),
    ("flex", _l("Flex (JSON)")),
)
TEMPLATE_KINDS = ("buttons", "confirm", "carousel", "image_carousel")
ACTION_KINDS = (
    ("uri", _l("Open a link")),
    ("message", _l("Send a message")),
    ("postback", _l("Postback (data for the CRM)")),
    ("datetimepicker", _l("Pick a date and time")),
    ("actions", _l("Run actions")),
)
PICKER_MODES = (("datetime", _l("Date and time")), ("date", _l("Date")), ("time", _l("Time of day")))
MAX_CARDS = 10
MAX_ACTIONS = {"buttons": 4, "confirm": 2, "carousel": 3, "image_carousel": 1}


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class ActionForm(Form):
    """One button: what it shows and what a tap does."""

    kind = SelectField(_l("When tapped"), choices=_choices(ACTION_KINDS), default="uri")
    label = StringField(_l("Label"))
    value = StringField(_l("Link, message to send, or data"))
    display_text = StringField(_l("Text shown in the chat"))
    mode = SelectField(_l("Pick"), choices=_choices(PICKER_MODES), default="datetime")


class CardForm(Form):
    """A buttons or confirm message, or one carousel card."""

    title = StringField(_l("Title"))
    text = TextAreaField(_l("Text"))
    image = FileField(_l("Image (JPEG or PNG, up to 10 MB)"))
    image_url = HiddenField()
    actions = FieldList(FormField(ActionForm), min_entries=1, max_entries=4)


class MessageForm(Form):
    """One message of any supported type (only the fields of its type are shown and used)."""

    kind = SelectField(_l("Type"), choices=_choices(MESSAGE_KINDS), default="text")
    text = TextAreaField(_l("Text"))
    image = FileField(_l("Image (JPEG or PNG, up to 10 MB)"))
    image_url = HiddenField()
    package_id = StringField(_l("Package ID"))
    sticker_id = StringField(_l("Sticker ID"))
    alt_text = StringField(_l("Notification text"))
    flex_json = TextAreaField(_l("Flex contents (JSON)"))
    cards = FieldList(FormField(CardForm), min_entries=1, max_entries=MAX_CARDS)


class TemplateForm(FlaskForm):
    """A template: name, folder and its messages."""

    name = StringField(_l("Name"), validators=[Length(max=NAME_MAX)])
    folder = StringField(_l("Folder"), validators=[Optional(), Length(max=FOLDER_MAX)])
    messages = FieldList(FormField(MessageForm), min_entries=1, max_entries=MAX_MESSAGES)


class ActionButtonForm(FlaskForm):
    """Copy, archive and restore buttons (CSRF token only)."""
