"""Forms of the scenario console: settings, one step (timing, condition, variants, actions), bulk enrolment."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from crm.scenarios.checks import VARIANTS_MAX
from crm.scenarios.models import ConditionOtherwise, EnrolmentRule, Scenario, ScenarioStep, TimingKind, TriggerKind
from crm.segments.condition_select import kept_choice

TIME_PATTERN = r"^([01]?\d|2[0-3]):[0-5]\d$"
TRIGGERS = [
    SelectChoice(TriggerKind.FRIEND_ADDED, _l("Friend added")),
    SelectChoice(TriggerKind.TAG_ADDED, _l("Tag added")),
    SelectChoice(TriggerKind.SURVEY_ANSWERED, _l("Survey answered")),
    SelectChoice(TriggerKind.LINK_CLICKED, _l("Link clicked")),
    SelectChoice(TriggerKind.MANUAL, _l("Only by hand (segment, API, actions)")),
]
RULES = [
    SelectChoice(EnrolmentRule.ONCE, _l("Once per friend, ever")),
    SelectChoice(EnrolmentRule.AFTER_COMPLETION, _l("Again after finishing")),
    SelectChoice(EnrolmentRule.RESTART, _l("Start over on every trigger")),
]
UNITS = [SelectChoice("minutes", _l("minutes")), SelectChoice("hours", _l("hours")), SelectChoice("days", _l("days"))]
UNIT_MINUTES = {"minutes": 1, "hours": 60, "days": 24 * 60}


def minute_of(text: str | None) -> int | None:
    """ "10:30" → 630; empty → None."""
    if not text:
        return None
    hours, minutes = text.strip().split(":")
    return int(hours) * 60 + int(minutes)


def clock(minute: int | None) -> str:
    """630 → "10:30"; None → ""."""
    return "" if minute is None else f"{minute // 60:02d}:{minute % 60:02d}"


class SettingsForm(FlaskForm):
    """A scenario's settings."""

    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=100)])
    description = TextAreaField(_l("Memo"), validators=[Optional(), Length(max=500)])
    trigger_kind = SelectField(_l("Starts when"), choices=TRIGGERS, default=TriggerKind.MANUAL)
    trigger_tag = SelectField(_l("Tag"), choices=[], validate_choice=False)
    trigger_survey = SelectField(_l("Survey"), choices=[], validate_choice=False)
    trigger_link = SelectField(_l("Link"), choices=[], validate_choice=False)
    include_unblocked = BooleanField(_l("Also when a friend unblocks the account"))
    enrolment_rule = SelectField(_l("Enrolment"), choices=RULES, default=EnrolmentRule.ONCE)
    exclusive = BooleanField(_l("Runs alone: a friend is in only one such scenario at a time"))
    priority = IntegerField(_l("Priority (higher wins)"), default=0, validators=[Optional(), NumberRange(0, 100)])
    control_percent = IntegerField(
        _l("Control group (%) — enrolled but sent nothing, to measure the effect"),
        default=0,
        validators=[Optional(), NumberRange(0, 50)],
    )
    goal_segment = SelectField(_l("Goal (a segment the friend enters)"), choices=[], validate_choice=False)
    goal_days = IntegerField(_l("Goal counts within (days)"), default=30, validators=[Optional(), NumberRange(1, 90)])
    exit_on_goal = BooleanField(_l("Stop sending once the goal is reached"), default=True)
    exit_after_silent_steps = IntegerField(
        _l("Stop after this many steps without a reaction"), validators=[Optional(), NumberRange(1, 20)]
    )
    opt_out_keywords = TextAreaField(_l("Opt-out keywords (one per line, e.g. 配信停止)"))
    window_start = StringField(_l("Send only from (hh:mm)"), validators=[Optional(), Regexp(TIME_PATTERN)])
    window_end = StringField(_l("until (hh:mm)"), validators=[Optional(), Regexp(TIME_PATTERN)])

    def trigger_ref(self):
        """The chosen tag, survey or link for the chosen trigger."""
        field = {
            TriggerKind.TAG_ADDED: self.trigger_tag,
            TriggerKind.SURVEY_ANSWERED: self.trigger_survey,
            TriggerKind.LINK_CLICKED: self.trigger_link,
        }.get(self.trigger_kind.data)
        return field.data if field is not None and field.data else None

    def settings(self, goal_tree) -> dict:
        """The builder's settings from the form (`goal_tree`: the tree the goal select resolves to)."""
        return {
            "name": self.name.data,
            "description": self.description.data,
            "trigger_kind": self.trigger_kind.data,
            "trigger_ref_id": self.trigger_ref(),
            "include_unblocked": self.include_unblocked.data,
            "enrolment_rule": self.enrolment_rule.data,
            "exclusive": self.exclusive.data,
            "priority": self.priority.data or 0,
            "control_percent": self.control_percent.data or 0,
            "goal_tree": goal_tree,
            "goal_days": self.goal_days.data or 30,
            "exit_on_goal": self.exit_on_goal.data,
            "exit_after_silent_steps": self.exit_after_silent_steps.data,
            "opt_out_keywords": self.opt_out_keywords.data,
            "window_start_minute": minute_of(self.window_start.data),
            "window_end_minute": minute_of(self.window_end.data),
        }


def settings_data(scenario: Scenario) -> dict:
    """Form data for a stored scenario."""
    data = {name: getattr(scenario, name) for name in ("name", "description", "trigger_kind", "enrolment_rule")}
    data |= {
        name: getattr(scenario, name) for name in ("include_unblocked", "exclusive", "priority", "control_percent")
    }
    data |= {"goal_days": scenario.goal_days, "exit_on_goal": scenario.exit_on_goal}
    data |= {"exit_after_silent_steps": scenario.exit_after_silent_steps, "opt_out_keywords": scenario.opt_out_keywords}
    data |= {"window_start": clock(scenario.window_start_minute), "window_end": clock(scenario.window_end_minute)}
    ref = str(scenario.trigger_ref_id or "")
    data |= {
        "trigger_tag": ref,
        "trigger_survey": ref,
        "trigger_link": ref,
        "goal_segment": kept_choice(scenario.goal_tree),
    }
    return data


class VariantForm(Form):
    """One variant slot: a template and its weight."""

    template_id = SelectField(_l("Template"), choices=[], validate_choice=False)
    weight = IntegerField(_l("Weight"), default=1, validators=[Optional(), NumberRange(1, 100)])


class StepForm(FlaskForm):
    """One step: when, on which condition, what it sends (1-4 variants) and which actions it runs."""

    name = StringField(_l("Step name (optional)"), validators=[Optional(), Length(max=100)])
    timing_kind = RadioField(
        _l("When"),
        choices=[
            SelectChoice(TimingKind.ELAPSED, _l("After a time")),
            SelectChoice(TimingKind.DAY_AT, _l("On day N at a time")),
            SelectChoice(TimingKind.FIELD_RELATIVE, _l("Before or after a date field")),
        ],
        default=TimingKind.ELAPSED,
    )
    delay_amount = IntegerField(_l("Wait"), default=0, validators=[Optional(), NumberRange(0, 525600)])
    delay_unit = SelectField(_l("Unit"), choices=UNITS, default="days")
    elapsed_from = SelectField(
        _l("Counted from"),
        choices=[SelectChoice("enrolment", _l("the start")), SelectChoice("previous", _l("the previous step"))],
        default="enrolment",
    )
    day_offset = IntegerField(_l("Day (0 = the start day)"), default=0, validators=[Optional()])
    at_time = StringField(_l("At (hh:mm, Japan time)"), validators=[Optional(), Regexp(TIME_PATTERN)])
    field_id = SelectField(_l("Date field"), choices=[], validate_choice=False)
    field_days = IntegerField(_l("Days (negative = before the date)"), default=0, validators=[Optional()])
    condition_segment = SelectField(_l("Only for friends in"), choices=[], validate_choice=False)
    condition_otherwise = SelectField(
        _l("Otherwise"),
        choices=[
            SelectChoice(ConditionOtherwise.SKIP, _l("skip this step")),
            SelectChoice(ConditionOtherwise.JUMP, _l("jump to step")),
        ],
        default=ConditionOtherwise.SKIP,
    )
    jump_to_position = IntegerField(_l("Step number"), validators=[Optional()])
    variants = FieldList(FormField(VariantForm), min_entries=VARIANTS_MAX, max_entries=VARIANTS_MAX)
    actions = HiddenField()  # the action editor's rows are read by the view; errors about them show here

    def step(self, condition_tree) -> dict:
        """The builder's step values (`condition_tree`: the tree the condition select resolves to)."""
        kind = self.timing_kind.data
        values = {"name": self.name.data, "timing_kind": kind, "elapsed_from": self.elapsed_from.data}
        values["delay_minutes"] = (self.delay_amount.data or 0) * UNIT_MINUTES.get(self.delay_unit.data, 1)
        values["day_offset"] = self.field_days.data if kind == TimingKind.FIELD_RELATIVE else self.day_offset.data
        values |= {"at_minute": minute_of(self.at_time.data), "field_id": self.field_id.data or None}
        values |= {"condition_tree": condition_tree, "condition_otherwise": self.condition_otherwise.data}
        values["jump_to_position"] = self.jump_to_position.data
        values["variants"] = [
            {"template_id": slot.form.template_id.data, "weight": slot.form.weight.data or 1}
            for slot in self.variants
            if slot.form.template_id.data
        ]
        return values


def step_data(step: ScenarioStep, variants) -> dict:
    """Form data for a stored step."""
    amount, unit = step.delay_minutes, "minutes"
    for name in ("days", "hours"):
        if amount and amount % UNIT_MINUTES[name] == 0:
            amount, unit = amount // UNIT_MINUTES[name], name
            break
    return {
        "name": step.name,
        "timing_kind": step.timing_kind,
        "delay_amount": amount,
        "delay_unit": unit,
        "elapsed_from": step.elapsed_from,
        "day_offset": step.day_offset,
        "field_days": step.day_offset,
        "at_time": clock(step.at_minute),
        "field_id": str(step.field_id or ""),
        "condition_segment": kept_choice(step.condition_tree),
        "condition_otherwise": step.condition_otherwise,
        "jump_to_position": step.jump_to_position,
        "variants": [{"template_id": str(v.template_id or ""), "weight": v.weight} for v in variants],
    }


class ActionForm(FlaskForm):
    """A button that changes something (CSRF only)."""


class EnrolSegmentForm(FlaskForm):
    """Enrol a saved segment: first the count, then the confirmation with that count."""

    segment = SelectField(_l("Segment"), choices=[], validate_choice=False, validators=[InputRequired()])
    confirmed_count = IntegerField(validators=[Optional()])
