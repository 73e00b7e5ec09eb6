"""Console forms of the survey builder (Flask-WTF, CSRF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlmodel import Session, select
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from crm.fields.models import FieldDefinition
from crm.tags.models import Tag
from surveys import actions
from surveys.builder import SurveySettings
from surveys.models import QuestionKind, Survey, SurveyChoice, SurveyQuestion
from surveys.questions import QUICK_REPLY_MAX, ChoiceSpec, QuestionSpec

KIND_LABELS = {
    QuestionKind.SINGLE: _l("Single choice"),
    QuestionKind.MULTIPLE: _l("Multiple choice"),
    QuestionKind.TEXT: _l("Free text"),
}


class ActionForm(FlaskForm):
    """A button-only form (just the CSRF token): publish, close, move, delete."""


class SettingsForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=100)])
    intro = TextAreaField(_l("Introduction (sent before the first question)"), validators=[Optional()])
    completion_message = TextAreaField(_l("Completion message"), validators=[Optional()])
    keyword = StringField(_l("Start keyword (optional)"), validators=[Optional(), Length(max=50)])
    allow_repeat = BooleanField(_l("Friends may answer again"))
    use_web_form = BooleanField(_l("Answer in a web form (a personal link is sent in the chat)"))

    def settings(self) -> SurveySettings:
        """The settings the editor entered."""
        return SurveySettings(
            title=self.title.data or "",
            intro=self.intro.data or "",
            completion_message=self.completion_message.data or "",
            keyword=self.keyword.data or "",
            allow_repeat=bool(self.allow_repeat.data),
            use_web_form=bool(self.use_web_form.data),
        )

    @classmethod
    def of(cls, survey: Survey) -> SettingsForm:
        return cls(
            formdata=None,
            title=survey.title,
            intro=survey.intro or "",
            keyword=survey.keyword or "",
            completion_message=survey.completion_message or "",
            allow_repeat=survey.allow_repeat,
            use_web_form=survey.use_web_form,
        )


class ChoiceRow(Form):
    """One choice with its optional actions."""

    label = StringField(_l("Choice"), validators=[Optional(), Length(max=20)])
    add_tag = SelectField(_l("Add tag"), choices=[], validate_choice=True)
    remove_tag = SelectField(_l("Remove tag"), choices=[], validate_choice=True)
    field = SelectField(_l("Set field"), choices=[], validate_choice=True)
    field_value = StringField(_l("to value"), validators=[Optional(), Length(max=1000)])


class QuestionForm(FlaskForm):
    kind = SelectField(_l("Type"), choices=[SelectChoice(kind, label) for kind, label in KIND_LABELS.items()])
    text = TextAreaField(_l("Question"), validators=[DataRequired(), Length(max=2000)])
    required = BooleanField(_l("Required"), default=True)
    save_field = SelectField(
        _l("Save a free-text answer to field"),
        choices=[],
        validate_choice=True,
        description=_l("A text field chosen here becomes personal data: analysts see its values masked."),
    )
    choices = FieldList(FormField(ChoiceRow), min_entries=QUICK_REPLY_MAX, max_entries=QUICK_REPLY_MAX)

    def load_options(self, db: Session) -> QuestionForm:
        """Offer the current tags and fields in the selects."""
        none = [SelectChoice("", "—")]
        tag_options = none + [SelectChoice(str(t.id), t.name) for t in db.exec(select(Tag).order_by(Tag.name))]
        field_options = none + [
            SelectChoice(str(f.id), f.label)
            for f in db.exec(select(FieldDefinition).order_by(FieldDefinition.position, FieldDefinition.id))
        ]
        self.save_field.choices = field_options
        for row in (entry.form for entry in self.choices):
            row.add_tag.choices = row.remove_tag.choices = tag_options
            row.field.choices = field_options
        return self

    def spec(self, more: list[list[dict]] | None = None) -> QuestionSpec:
        """The question the editor entered; `more` holds each choice's other actions (from its action editor)."""
        more = more or []
        rows = [
            ChoiceSpec(
                label=(row.label.data or "").strip(),
                add_tag_id=_id(row.add_tag.data),
                remove_tag_id=_id(row.remove_tag.data),
                field_id=_id(row.field.data),
                field_value=row.field_value.data,
                more_actions=tuple(more[index]) if index < len(more) else (),
            )
            for index, row in enumerate(entry.form for entry in self.choices)
        ]
        return QuestionSpec(
            kind=self.kind.data,
            text=self.text.data or "",
            required=bool(self.required.data),
            choices=tuple(rows),
            save_field_id=_id(self.save_field.data),
        )

    @classmethod
    def of(cls, question: SurveyQuestion, choices: list[SurveyChoice]) -> QuestionForm:
        rows = [_row(choice) for choice in choices]
        rows += [{}] * (QUICK_REPLY_MAX - len(rows))
        return cls(
            formdata=None,
            kind=question.kind,
            text=question.text,
            required=question.required,
            save_field=str(question.save_field_id or ""),
            choices=rows,
        )


def _row(choice: SurveyChoice) -> dict:
    return split_actions(choice)[0]


def split_actions(choice: SurveyChoice) -> tuple[dict, list[dict]]:
    """A stored choice as the editor shows it: the row's tag and field shortcuts (the first action of each),
    and the other actions for the choice's action editor."""
    row = {"label": choice.label, "add_tag": "", "remove_tag": "", "field": "", "field_value": ""}
    more = []
    for action in actions.parse(choice.actions):
        kind = action.get("type")
        if kind == actions.ADD_TAG and not row["add_tag"]:
            row["add_tag"] = str(action["tag_id"])
        elif kind == actions.REMOVE_TAG and not row["remove_tag"]:
            row["remove_tag"] = str(action["tag_id"])
        elif kind == actions.SET_FIELD and not row["field"]:
            row["field"], row["field_value"] = str(action["field_id"]), action.get("value", "")
        else:
            more.append(action)
    return row, more


def _id(value: str | None) -> int | None:
    return int(value) if value and str(value).isdigit() else None
