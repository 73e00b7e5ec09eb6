"""Checking a scenario's settings and its steps: every value normalised, the first bad one named by its field."""

from __future__ import annotations

import json

from sqlalchemy import column, select, table
from sqlmodel import Session

from crm.actions.engine import validate_actions
from crm.errors import N_, TranslatableError
from crm.fields.models import FieldDefinition, FieldType
from crm.message_templates.models import MessageTemplate
from crm.scenarios.models import ConditionOtherwise, EnrolmentRule, TimingKind, TriggerKind
from crm.segments.tree import SegmentError, validate
from crm.tags.models import Tag
from crm.tracking.models import TrackedLink

NAME_MAX = 100
DESCRIPTION_MAX = 500
PRIORITY_RANGE = (0, 100)
CONTROL_MAX = 50
GOAL_DAYS_RANGE = (1, 90)
SILENT_STEPS_RANGE = (1, 20)
KEYWORDS_MAX = 500
KEYWORD_MAX = 50
LAST_MINUTE = 24 * 60 - 1
DELAY_MAX_MINUTES = 365 * 24 * 60
DAY_OFFSET_RANGE = (0, 365)
FIELD_OFFSET_RANGE = (-365, 365)
VARIANTS_MAX = 4
WEIGHT_RANGE = (1, 100)
VARIANT_LABELS = "ABCD"
ELAPSED_FROM = ("enrolment", "previous")
# Surveys belong to the `surveys` package, which crm never imports: its table name is the contract.
SURVEY = table("survey", column("id"))


class ScenarioError(TranslatableError):
    """A scenario change that cannot be done; `field` names the form field it concerns (or None)."""

    def __init__(self, msgid: str, *, field: str | None = None, code: str | None = None, **params):
        super().__init__(msgid, **params)
        self.field = field
        self._code = code

    @property
    def code(self) -> str:
        """ "not_found", "invalid" for a refused value (it names its field), else "conflict"."""
        return self._code or ("invalid" if self.field else "conflict")


def whole_number(value, low: int, high: int, msgid: str, field: str) -> int:
    """`value` as an int in [low, high] (digits in a string accepted), else ScenarioError on `field`."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ScenarioError(msgid, field=field, low=low, high=high)
    return value


def optional_number(value, low: int, high: int, msgid: str, field: str) -> int | None:
    return None if value in (None, "") else whole_number(value, low, high, msgid, field)


def _text(value, limit: int, field: str, *, required: bool = False) -> str | None:
    value = (value or "").strip()
    if required and not value:
        raise ScenarioError(N_("Enter a name of 1 to %(max)s characters."), field=field, max=limit)
    if len(value) > limit:
        raise ScenarioError(N_("Enter at most %(max)s characters."), field=field, max=limit)
    return value or None


def _choice(value, allowed, field: str) -> str:
    if value not in {str(option) for option in allowed}:
        raise ScenarioError(N_("Choose one of the options."), field=field)
    return str(value)


def tree_json(session: Session, tree, field: str) -> str | None:
    """A condition tree checked by the segments service, stored as JSON (None when empty)."""
    if tree in (None, "", {}):
        return None
    try:
        checked = validate(session, tree)
    except SegmentError as error:
        raise ScenarioError(error.msgid, field=field, **error.params) from error
    return json.dumps(checked, ensure_ascii=False, sort_keys=True)


def _trigger_ref(session: Session, kind: str, ref) -> int | None:
    """The tag, survey or link a trigger watches (a link trigger without one watches every tracked link)."""
    if kind in (TriggerKind.FRIEND_ADDED, TriggerKind.MANUAL):
        return None
    if ref in (None, "") and kind == TriggerKind.LINK_CLICKED:
        return None
    ref = optional_number(ref, 1, 2**31 - 1, N_("Choose what starts the scenario."), "trigger_ref_id")
    column_of = {TriggerKind.TAG_ADDED: Tag.id, TriggerKind.SURVEY_ANSWERED: SURVEY.c.id}.get(kind, TrackedLink.id)
    if ref is None or session.execute(select(column_of).where(column_of == ref)).first() is None:
        raise ScenarioError(N_("Choose what starts the scenario."), field="trigger_ref_id")
    return ref


def _keywords(raw) -> str | None:
    lines = raw if isinstance(raw, list) else str(raw or "").splitlines()
    keywords = list(dict.fromkeys(line.strip() for line in lines if line and line.strip()))
    if any(len(keyword) > KEYWORD_MAX for keyword in keywords):
        raise ScenarioError(
            N_("A keyword can be at most %(max)s characters."), field="opt_out_keywords", max=KEYWORD_MAX
        )
    joined = "\n".join(keywords)
    if len(joined) > KEYWORDS_MAX:
        raise ScenarioError(N_("Enter at most %(max)s characters."), field="opt_out_keywords", max=KEYWORDS_MAX)
    return joined or None


def _window(start, end) -> tuple[int | None, int | None]:
    msgid = N_("Give a time from 00:00 to 23:59.")
    start = optional_number(start, 0, LAST_MINUTE, msgid, "window_start_minute")
    end = optional_number(end, 0, LAST_MINUTE, msgid, "window_end_minute")
    if (start is None) != (end is None) or (start is not None and start == end):
        raise ScenarioError(N_("Give both ends of the send window, or neither."), field="window_start_minute")
    return start, end


def clean_settings(session: Session, values: dict) -> dict:
    """Every scenario setting checked and normalised (ScenarioError names the first bad one)."""
    trigger_kind = _choice(values.get("trigger_kind", TriggerKind.MANUAL), TriggerKind, "trigger_kind")
    window_start, window_end = _window(values.get("window_start_minute"), values.get("window_end_minute"))
    return {
        "name": _text(values.get("name"), NAME_MAX, "name", required=True),
        "description": _text(values.get("description"), DESCRIPTION_MAX, "description"),
        "trigger_kind": trigger_kind,
        "trigger_ref_id": _trigger_ref(session, trigger_kind, values.get("trigger_ref_id")),
        "include_unblocked": trigger_kind == TriggerKind.FRIEND_ADDED and bool(values.get("include_unblocked")),
        "enrolment_rule": _choice(values.get("enrolment_rule", EnrolmentRule.ONCE), EnrolmentRule, "enrolment_rule"),
        "exclusive": bool(values.get("exclusive")),
        "priority": whole_number(
            values.get("priority", 0), *PRIORITY_RANGE, N_("Give a number from %(low)s to %(high)s."), "priority"
        ),
        "control_percent": whole_number(
            values.get("control_percent", 0),
            0,
            CONTROL_MAX,
            N_("The control group must be a whole percentage from %(low)s to %(high)s."),
            "control_percent",
        ),
        "goal_tree": tree_json(session, values.get("goal_tree"), "goal_tree"),
        "goal_days": whole_number(
            values.get("goal_days", 30),
            *GOAL_DAYS_RANGE,
            N_("The goal period must be from %(low)s to %(high)s days."),
            "goal_days",
        ),
        "exit_on_goal": bool(values.get("exit_on_goal", True)),
        "exit_after_silent_steps": optional_number(
            values.get("exit_after_silent_steps"),
            *SILENT_STEPS_RANGE,
            N_("Give a number from %(low)s to %(high)s."),
            "exit_after_silent_steps",
        ),
        "opt_out_keywords": _keywords(values.get("opt_out_keywords")),
        "window_start_minute": window_start,
        "window_end_minute": window_end,
    }


def _timing(session: Session, values: dict) -> dict:
    """The timing columns of a step for its kind; the others are reset so a step means one thing."""
    kind = _choice(values.get("timing_kind", TimingKind.ELAPSED), TimingKind, "timing_kind")
    timing = {"timing_kind": kind, "elapsed_from": "enrolment", "delay_minutes": 0, "day_offset": 0}
    timing |= {"at_minute": None, "field_id": None}
    at_minute = N_("Give a time from 00:00 to 23:59.")
    if kind == TimingKind.ELAPSED:
        timing["elapsed_from"] = _choice(values.get("elapsed_from", "enrolment"), ELAPSED_FROM, "elapsed_from")
        timing["delay_minutes"] = whole_number(
            values.get("delay_minutes", 0),
            0,
            DELAY_MAX_MINUTES,
            N_("The delay must be from 0 minutes to 365 days."),
            "delay_minutes",
        )
        return timing
    timing["at_minute"] = whole_number(values.get("at_minute"), 0, LAST_MINUTE, at_minute, "at_minute")
    if kind == TimingKind.DAY_AT:
        days = N_("Give a number of days from %(low)s to %(high)s.")
        timing["day_offset"] = whole_number(values.get("day_offset", 0), *DAY_OFFSET_RANGE, days, "day_offset")
        return timing
    days = N_("Give a number of days from %(low)s to %(high)s.")
    timing["day_offset"] = whole_number(values.get("day_offset", 0), *FIELD_OFFSET_RANGE, days, "day_offset")
    field_id = optional_number(values.get("field_id"), 1, 2**31 - 1, N_("Choose a date field."), "field_id")
    definition = session.get(FieldDefinition, field_id) if field_id else None
    if definition is None or definition.field_type != FieldType.DATE:
        raise ScenarioError(N_("Choose a date field."), field="field_id")
    timing["field_id"] = field_id
    return timing


def _variants(session: Session, raw) -> list[dict]:
    """0-4 variants, each an existing template that is not archived; weights 1-100 when there are several."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or len(raw) > VARIANTS_MAX:
        raise ScenarioError(N_("A step can have at most %(max)s variants."), field="variants", max=VARIANTS_MAX)
    variants = []
    for label, variant in zip(VARIANT_LABELS, raw, strict=False):
        variant = variant if isinstance(variant, dict) else {}
        template_id = optional_number(variant.get("template_id"), 1, 2**31 - 1, N_("Choose a template."), "variants")
        template = session.get(MessageTemplate, template_id) if template_id else None
        if template is None or template.archived:
            raise ScenarioError(N_("Choose a template for variant %(label)s."), field="variants", label=label)
        weight = variant.get("weight", 1) if len(raw) > 1 else 1
        weight = whole_number(weight, *WEIGHT_RANGE, N_("A weight must be from %(low)s to %(high)s."), "variants")
        variants.append({"label": label, "weight": weight, "template_id": template_id})
    return variants


def _actions(session: Session, raw) -> list[dict]:
    """The step's actions, checked by the action engine."""
    if raw in (None, "", []):
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ScenarioError(N_("The actions are not valid."), field="actions") from None
    try:
        return validate_actions(session, raw)
    except TranslatableError as error:
        raise ScenarioError(error.msgid, field="actions", **error.params) from error


def _condition(session: Session, values: dict, position: int, step_count: int) -> dict:
    tree = tree_json(session, values.get("condition_tree"), "condition_tree")
    otherwise = _choice(
        values.get("condition_otherwise") or ConditionOtherwise.SKIP, ConditionOtherwise, "condition_otherwise"
    )
    if tree is None or otherwise == ConditionOtherwise.SKIP:
        return {"condition_tree": tree, "condition_otherwise": ConditionOtherwise.SKIP, "jump_to_position": None}
    target = optional_number(
        values.get("jump_to_position"), 1, step_count, N_("Jump to a later step."), "jump_to_position"
    )
    if target is None or target <= position:
        raise ScenarioError(N_("Jump to a later step."), field="jump_to_position")
    return {"condition_tree": tree, "condition_otherwise": otherwise, "jump_to_position": target}


def clean_step(session: Session, values: dict, *, position: int, step_count: int) -> tuple[dict, list[dict]]:
    """A step's columns and its variants, checked; `step_count` counts the scenario's steps with this one."""
    variants = _variants(session, values.get("variants"))
    actions = _actions(session, values.get("actions"))
    if not variants and not actions:
        raise ScenarioError(N_("A step sends a template or runs actions: choose at least one."), field="variants")
    columns = {"name": _text(values.get("name"), NAME_MAX, "step_name")}
    columns |= _timing(session, values)
    columns |= _condition(session, values, position, step_count)
    columns["actions"] = json.dumps(actions, ensure_ascii=False)
    return columns, variants
