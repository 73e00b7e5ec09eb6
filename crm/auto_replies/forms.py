"""Forms of the auto-replies console: one rule, the row buttons, the emergency stop, the 試す box."""

from __future__ import annotations

import json

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from crm.auto_replies.hours import ALL_WEEKDAYS, hhmm, minute_of
from crm.auto_replies.models import AutoReplyRule, MatchMode, RuleKind
from crm.auto_replies.rules import RuleValues
from crm.segments.condition_select import kept_choice

TIME_PATTERN = r"^(([01]?\d|2[0-3]):[0-5]\d|24:00)$"
MATCH_MODES = [
    SelectChoice(MatchMode.CONTAINS, _l("Contains the keyword")),
    SelectChoice(MatchMode.EXACT, _l("Is exactly the keyword")),
    SelectChoice(MatchMode.STARTS_WITH, _l("Starts with the keyword")),
    SelectChoice(MatchMode.REGEX, _l("Regular expression")),
]
WEEKDAYS = [
    SelectChoice(str(day), label)
    for day, label in enumerate(
        (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun")),
    )
]
QUIET_PERIODS = [
    SelectChoice("30", _l("30 minutes")),
    SelectChoice("60", _l("1 hour")),
    SelectChoice("180", _l("3 hours")),
    SelectChoice("720", _l("12 hours")),
    SelectChoice("1440", _l("1 day")),
    SelectChoice("10080", _l("7 days")),
]
KIND_LABELS = {
    RuleKind.KEYWORD: _l("Keyword reply"),
    RuleKind.ANY_OTHER: _l("Reply to any other message"),
    RuleKind.OUTSIDE_HOURS: _l("Reply outside business hours"),
}


class RuleForm(FlaskForm):
    """One rule (its actions come from the shared action editor)."""

    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=100)])
    folder = StringField(_l("Folder (optional)"), validators=[Optional(), Length(max=60)])
    keywords = TextAreaField(_l("Keywords (one per line)"), validators=[Optional(), Length(max=4000)])
    match_mode = SelectField(_l("How the keywords match"), choices=MATCH_MODES, default=MatchMode.CONTAINS)
    ignore_spaces = BooleanField(_l("Ignore spaces (「営業 時間」 matches 「営業時間」)"))
    weekdays = SelectMultipleField(
        _l("Weekdays"),
        choices=WEEKDAYS,
        default=list(ALL_WEEKDAYS),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    start_time = StringField(_l("From (Japan time)"), validators=[Optional(), Regexp(TIME_PATTERN)])
    end_time = StringField(_l("Until"), validators=[Optional(), Regexp(TIME_PATTERN)])
    condition_segment = SelectField(_l("Only for friends in"), choices=[], validate_choice=False)
    template_id = SelectField(_l("Answer with the template"), choices=[], validate_choice=False)
    quiet_minutes = SelectField(_l("Answer the same friend at most once in"), choices=QUIET_PERIODS, default="1440")
    continue_to_next = BooleanField(_l("Also let the rules below answer"))
    enabled = BooleanField(_l("On"), default=True)

    def values(self, *, kind: str, condition_tree, actions: list[dict]) -> RuleValues:
        """The rule as the service takes it."""
        return RuleValues(
            name=self.name.data or "",
            kind=kind,
            folder=self.folder.data,
            keywords=(self.keywords.data or "").splitlines(),
            match_mode=self.match_mode.data,
            ignore_spaces=self.ignore_spaces.data,
            condition_tree=condition_tree,
            weekdays="".join(self.weekdays.data or []),
            start_minute=minute_of(self.start_time.data) if self.start_time.data else None,
            end_minute=minute_of(self.end_time.data) if self.end_time.data else None,
            template_id=int(self.template_id.data) if (self.template_id.data or "").isdigit() else None,
            actions=actions,
            enabled=self.enabled.data,
            continue_to_next=self.continue_to_next.data,
            quiet_minutes=int(self.quiet_minutes.data or 0),
        )


def rule_data(rule: AutoReplyRule) -> dict:
    """The form's values for a stored rule."""
    return {
        "name": rule.name,
        "folder": rule.folder or "",
        "keywords": "\n".join(json.loads(rule.keywords)),
        "match_mode": rule.match_mode,
        "ignore_spaces": rule.ignore_spaces,
        "weekdays": list(rule.weekdays),
        "start_time": hhmm(rule.start_minute),
        "end_time": hhmm(rule.end_minute),
        "condition_segment": kept_choice(rule.condition_tree),
        "template_id": str(rule.template_id or ""),
        "quiet_minutes": str(rule.quiet_minutes),
        "continue_to_next": rule.continue_to_next,
        "enabled": rule.enabled,
    }


class ButtonForm(FlaskForm):
    """A row's button (CSRF token only)."""


class TryForm(FlaskForm):
    """「試す」: a text and a friend; shows which rule would answer."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    text = StringField(_l("Message"), validators=[InputRequired(), Length(max=500)])
    friend = SelectField(_l("As the friend"), choices=[], validate_choice=False)
