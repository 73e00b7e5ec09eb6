"""The friend list's bulk form: add or remove a tag, or set the attention mark, on the friends ticked on the page
or on every match."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField
from wtforms.fields import SelectChoice
from wtforms.validators import InputRequired, Optional

from crm.friends import attention as attention_marks
from crm.friends.filter_form import tag_choices

ATTENTION = "attention"
BULK_ACTIONS = {"add": _l("Add tag"), "remove": _l("Remove tag"), ATTENTION: _l("Set the attention mark")}
SELECTED, ALL_MATCHING = "selected", "all"
MAX_SELECTED = 200  # a page shows at most 100 friends: more ticked ids than this is not a real form


class BulkForm(FlaskForm):
    """Which tag to add or remove (or which attention mark to set), and on whom: the friends ticked on the page,
    or every friend that matches."""

    action = SelectField(
        _l("Action"),
        validators=[InputRequired()],
        choices=[SelectChoice(key, label) for key, label in BULK_ACTIONS.items()],
    )
    tag = SelectField(_l("Tag"), coerce=int, validators=[Optional()], choices=[], validate_choice=False)
    mark = SelectField(  # not "attention": that name is the list's filter in the same query string
        _l("Attention mark"),
        validators=[Optional()],
        choices=[
            *(SelectChoice(state, _l(label)) for state, label in attention_marks.LABELS.items()),
            SelectChoice(attention_marks.CLEAR, _l(attention_marks.CLEAR_LABEL)),
        ],
    )
    scope = RadioField(
        _l("Apply to"),
        choices=[
            SelectChoice(SELECTED, _l("The friends ticked below")),
            SelectChoice(ALL_MATCHING, _l("Every friend matching the filters")),
        ],
        default=SELECTED,
        validators=[InputRequired()],
    )

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then the tag (adding or removing) or the mark (setting it) the action needs."""
        valid = super().validate(extra_validators)
        if self.action.data == ATTENTION:
            return valid and self.mark.data in (*attention_marks.STATES, attention_marks.CLEAR)
        return valid and any(str(self.tag.data) == choice.value for choice in self.tag.choices)


def bulk_form(db, **kwargs) -> BulkForm:
    """The form with the tag choices filled in."""
    form = BulkForm(**kwargs)
    form.tag.choices = tag_choices(db)
    return form


def selected_ids(values: list[str]) -> list[int]:
    """The ticked friend ids of a submitted form (anything not a positive integer is dropped), in order."""
    ids = [int(value) for value in values[:MAX_SELECTED] if value.isdigit() and int(value) > 0]
    return list(dict.fromkeys(ids))
