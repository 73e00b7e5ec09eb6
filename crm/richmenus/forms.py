"""Forms of the rich menu builder, image upload, publishing and tag rules."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, FieldList, Form, FormField, IntegerField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.richmenus.drafts import MenuSpec
from crm.richmenus.layouts import (
    ACTION_KINDS,
    ACTION_LABELS,
    CUSTOM,
    CUSTOM_LABEL,
    LAYOUTS,
    MAX_AREAS,
    MAX_DISPLAY_TEXT,
    SIZE_LABELS,
    SIZES,
    Action,
    Area,
)

BOUND = [Optional(), NumberRange(min=0, max=10000)]


def size_choices() -> list[SelectChoice]:
    return [SelectChoice(key, _(SIZE_LABELS[key])) for key in SIZES]


def layout_choices() -> list[SelectChoice]:
    return [SelectChoice(key, _(label)) for key, (label, *_rest) in LAYOUTS.items()] + [
        SelectChoice(CUSTOM, _(CUSTOM_LABEL))
    ]


class AreaForm(Form):
    """One area: its rectangle (custom layouts) and its action."""

    x = IntegerField(_l("X"), validators=BOUND)
    y = IntegerField(_l("Y"), validators=BOUND)
    width = IntegerField(_l("Width"), validators=BOUND)
    height = IntegerField(_l("Height"), validators=BOUND)
    kind = SelectField(_l("Action"), choices=[])
    value = StringField(_l("Postback data, URL, text or tab ID"), validators=[Optional(), Length(max=2000)])
    survey = SelectField(_l("Survey"), choices=[], validate_choice=False)
    caption = StringField(_l("Label (read aloud, optional)"), validators=[Optional(), Length(max=20)])
    display_text = StringField(
        _l("Text shown in the chat on a tap (optional)"), validators=[Optional(), Length(max=MAX_DISPLAY_TEXT)]
    )

    def area(self) -> Area | None:
        """The area as entered; None for an empty custom row."""
        bounds = (self.x.data, self.y.data, self.width.data, self.height.data)
        value = (self.survey.data if self.kind.data == "postback" and self.survey.data else self.value.data) or ""
        if not self.kind.data and not value.strip():
            action = None
        else:
            action = Action(self.kind.data or "", value, self.caption.data or "", self.display_text.data or "")
        if action is None and all(bound is None for bound in bounds):
            return None
        return Area(*(bound or 0 for bound in bounds), action)


class NewMenuForm(FlaskForm):
    name = StringField(_l("Name (only staff see it)"), validators=[DataRequired(), Length(max=300)])
    chat_bar_text = StringField(_l("Chat-bar text (up to 14 characters)"), validators=[DataRequired()])
    size = SelectField(_l("Size"), choices=[])
    layout = SelectField(_l("Layout"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.size.choices, self.layout.choices = size_choices(), layout_choices()

    def spec(self) -> MenuSpec:
        """A new menu with the layout's areas and no actions yet."""
        whole_image = Area(0, 0, *SIZES.get(self.size.data, (1, 1)))
        return MenuSpec(
            self.name.data,
            self.chat_bar_text.data,
            self.size.data,
            self.layout.data,
            areas=[whole_image] if self.layout.data == CUSTOM else [],
        )


class MenuForm(NewMenuForm):
    alias_id = StringField(
        _l("Tab ID for switching to this menu (a–z, 0–9, - and _; optional)"), validators=[Optional(), Length(max=32)]
    )
    selected = BooleanField(_l("Show the menu open when the chat opens"))
    areas = FieldList(FormField(AreaForm), max_entries=MAX_AREAS)

    def set_area_choices(self, survey_choices: list[tuple[str, str]]) -> None:
        """Fill the action and survey pickers of every area row."""
        kinds = [SelectChoice("", _("— none yet —"))] + [SelectChoice(k, _(ACTION_LABELS[k])) for k in ACTION_KINDS]
        surveys = [SelectChoice("", _("— type the data instead —"))] + [
            SelectChoice(data, label) for label, data in survey_choices
        ]
        for entry in self.areas:
            entry.kind.choices, entry.survey.choices = kinds, surveys

    def spec(self) -> MenuSpec:
        """The menu as entered; template layouts ignore the rectangles and keep actions in order."""
        areas = [entry.area() for entry in self.areas]
        if self.layout.data == CUSTOM:
            areas = [area for area in areas if area is not None]
        else:
            areas = [area or Area(0, 0, 0, 0) for area in areas]
        return MenuSpec(
            self.name.data,
            self.chat_bar_text.data,
            self.size.data,
            self.layout.data,
            bool(self.selected.data),
            self.alias_id.data,
            areas,
        )


class ImageForm(FlaskForm):
    image = FileField(
        _l("Image (JPEG or PNG, at most 1 MB, exactly the menu's size)"),
        validators=[FileRequired(_l("Choose an image file to upload."))],
    )


class PublishForm(FlaskForm):
    make_default = BooleanField(_l("Make it the default menu for every friend"))


class ActionForm(FlaskForm):
    """A button that changes something (CSRF token only)."""


class ConfirmForm(FlaskForm):
    confirm = BooleanField(_l("Yes, delete this menu"), validators=[DataRequired()])


class RuleForm(FlaskForm):
    tag = SelectField(_l("Friends with the tag"), choices=[], coerce=int)
    menu = SelectField(_l("get the menu"), choices=[], coerce=int)
