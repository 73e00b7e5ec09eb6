"""Saving rules: create, change, copy, delete, switch on or off, move up or down; every change audited and
followed by a bump of the rules' version (so each process compiles them again)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from sqlalchemy import func
from sqlmodel import Session, select

from crm.actions.engine import validate_actions
from crm.auto_replies.errors import AutoReplyError
from crm.auto_replies.hours import ALL_WEEKDAYS, MINUTES_A_DAY
from crm.auto_replies.models import AutoReplyHit, AutoReplyRule, MatchMode, RuleKind
from crm.auto_replies.normalise import normalise
from crm.auto_replies.patterns import compile_pattern
from crm.auto_replies.switch import bump_version
from crm.errors import N_, TranslatableError
from crm.message_templates.models import MessageTemplate
from crm.message_templates.service import COPY_SUFFIX
from crm.segments.tree import SegmentError, validate
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow

NAME_MAX, FOLDER_MAX, KEYWORD_MAX, KEYWORDS_MAX = 100, 60, 100, 30
QUIET_MAX_MINUTES = 31 * 24 * 60
TARGET = "auto_reply"


@dataclass
class RuleValues:
    """What a staff member sets on a rule."""

    name: str
    kind: str = RuleKind.KEYWORD
    keywords: list[str] = field(default_factory=list)
    match_mode: str = MatchMode.CONTAINS
    ignore_spaces: bool = False
    folder: str | None = None
    condition_tree: str | dict | None = None
    weekdays: str = ALL_WEEKDAYS
    start_minute: int | None = None
    end_minute: int | None = None
    template_id: int | None = None
    actions: list[dict] = field(default_factory=list)
    enabled: bool = True
    continue_to_next: bool = False
    quiet_minutes: int = 1440


def get_rule(session: Session, rule_id: int) -> AutoReplyRule:
    rule = session.get(AutoReplyRule, rule_id)
    if rule is None:
        raise AutoReplyError(N_("This auto-reply no longer exists."), field="not_found")
    return rule


def list_rules(session: Session) -> list[AutoReplyRule]:
    """Keyword rules in priority order, then the fallbacks."""
    rules = list(session.exec(select(AutoReplyRule).order_by(AutoReplyRule.position, AutoReplyRule.id)))
    return sorted(rules, key=lambda rule: rule.kind != RuleKind.KEYWORD)


def create_rule(session: Session, *, actor: Actor, values: RuleValues) -> AutoReplyRule:
    """A new rule, last in the priority order."""
    checked = _checked(session, values)
    last = session.exec(select(func.max(AutoReplyRule.position))).one() or 0
    rule = AutoReplyRule(**checked, position=last + 1)
    session.add(rule)
    session.flush()
    record(session, actor=actor, action="auto_reply.created", target_type=TARGET, target_id=rule.id, after=checked)
    bump_version(session)
    return rule


def update_rule(session: Session, *, actor: Actor, rule_id: int, values: RuleValues) -> AutoReplyRule:
    rule = get_rule(session, rule_id)
    before = snapshot(rule)
    checked = _checked(session, values)
    for key, value in checked.items():
        setattr(rule, key, value)
    rule.updated_at = utcnow()
    session.flush()
    record(
        session,
        actor=actor,
        action="auto_reply.changed",
        target_type=TARGET,
        target_id=rule.id,
        before=before,
        after=snapshot(rule),
    )
    bump_version(session)
    return rule


def copy_rule(session: Session, *, actor: Actor, rule_id: int) -> AutoReplyRule:
    """A switched-off copy named 「… のコピー」, placed last."""
    rule = get_rule(session, rule_id)
    values = RuleValues(**_values_of(rule))
    values.name, values.enabled = rule.name[: NAME_MAX - len(COPY_SUFFIX)] + COPY_SUFFIX, False
    return create_rule(session, actor=actor, values=values)


def delete_rule(session: Session, *, actor: Actor, rule_id: int) -> None:
    """Delete a rule and its hits."""
    rule = get_rule(session, rule_id)
    before = snapshot(rule)
    for hit in session.exec(select(AutoReplyHit).where(AutoReplyHit.rule_id == rule_id)):
        session.delete(hit)
    session.delete(rule)
    session.flush()
    record(session, actor=actor, action="auto_reply.deleted", target_type=TARGET, target_id=rule_id, before=before)
    bump_version(session)


def set_enabled(session: Session, *, actor: Actor, rule_id: int, enabled: bool) -> AutoReplyRule:
    rule = get_rule(session, rule_id)
    if rule.enabled != enabled:
        rule.enabled, rule.updated_at = enabled, utcnow()
        action = "auto_reply.enabled" if enabled else "auto_reply.disabled"
        record(session, actor=actor, action=action, target_type=TARGET, target_id=rule.id)
        bump_version(session)
    return rule


def move_rule(session: Session, *, actor: Actor, rule_id: int, direction: str) -> None:
    """Swap a keyword rule with the one above ("up") or below ("down") in the priority order."""
    rule = get_rule(session, rule_id)
    ordered = [r for r in list_rules(session) if r.kind == RuleKind.KEYWORD]
    if rule.kind != RuleKind.KEYWORD or direction not in ("up", "down"):
        raise AutoReplyError(N_("That auto-reply cannot move further."))
    index = ordered.index(rule)
    other_index = index - 1 if direction == "up" else index + 1
    if not 0 <= other_index < len(ordered):
        raise AutoReplyError(N_("That auto-reply cannot move further."))
    ordered[index], ordered[other_index] = ordered[other_index], ordered[index]
    for position, row in enumerate(ordered, start=1):
        row.position = position
    session.flush()
    record(
        session,
        actor=actor,
        action="auto_reply.moved",
        target_type=TARGET,
        target_id=rule.id,
        before={"position": index + 1},
        after={"position": other_index + 1},
    )
    bump_version(session)


def snapshot(rule: AutoReplyRule) -> dict:
    """The rule's settings, as the audit log keeps them."""
    return _values_of(rule) | {"position": rule.position}


def _values_of(rule: AutoReplyRule) -> dict:
    values = {key: getattr(rule, key) for key in asdict(RuleValues(name=""))}
    return values | {"keywords": json.loads(rule.keywords), "actions": json.loads(rule.actions)}


def _checked(session: Session, values: RuleValues) -> dict:
    """The values as stored, or an AutoReplyError naming the field at fault."""
    name = (values.name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise AutoReplyError(N_("Name: enter 1 to %(max)d characters."), max=NAME_MAX, field="name")
    folder = (values.folder or "").strip() or None
    if folder and len(folder) > FOLDER_MAX:
        raise AutoReplyError(N_("Folder: at most %(max)d characters."), max=FOLDER_MAX, field="folder")
    if values.kind not in tuple(RuleKind):
        raise AutoReplyError(N_("Choose what the auto-reply answers."), field="kind")
    keywords = _keywords(values) if values.kind == RuleKind.KEYWORD else []
    start, end = _hours(values)
    if values.kind == RuleKind.OUTSIDE_HOURS and start is None:
        raise AutoReplyError(N_("Enter the business hours: this reply answers outside them."), field="start_time")
    if not values.quiet_minutes or not 0 < values.quiet_minutes <= QUIET_MAX_MINUTES:
        raise AutoReplyError(N_("Choose how often it may answer the same friend."), field="quiet_minutes")
    template_id = _template_id(session, values.template_id)
    actions = _actions(session, values.actions)
    if template_id is None and not actions:
        raise AutoReplyError(N_("Choose a template to answer with, or add an action."), field="template_id")
    return {
        "name": name,
        "folder": folder,
        "kind": values.kind,
        "keywords": json.dumps(keywords, ensure_ascii=False),
        "match_mode": values.match_mode,
        "ignore_spaces": bool(values.ignore_spaces),
        "condition_tree": _tree(session, values.condition_tree),
        "weekdays": _weekdays(values.weekdays),
        "start_minute": start,
        "end_minute": end,
        "template_id": template_id,
        "actions": json.dumps(actions, ensure_ascii=False),
        "enabled": bool(values.enabled),
        "continue_to_next": bool(values.continue_to_next) and values.kind == RuleKind.KEYWORD,
        "quiet_minutes": values.quiet_minutes,
    }


def _keywords(values: RuleValues) -> list[str]:
    if values.match_mode not in tuple(MatchMode):
        raise AutoReplyError(N_("Choose how the keywords match."), field="match_mode")
    keywords = [word.strip() for word in values.keywords if word and word.strip()]
    if not keywords:
        raise AutoReplyError(N_("Enter at least one keyword."), field="keywords")
    if len(keywords) > KEYWORDS_MAX:
        raise AutoReplyError(N_("At most %(max)d keywords."), max=KEYWORDS_MAX, field="keywords")
    for word in keywords:
        if len(word) > KEYWORD_MAX:
            raise AutoReplyError(N_("A keyword may be at most %(max)d characters."), max=KEYWORD_MAX, field="keywords")
        if values.match_mode == MatchMode.REGEX:
            compile_pattern(word)
        elif not normalise(word, ignore_spaces=values.ignore_spaces):
            raise AutoReplyError(N_("A keyword must have more than spaces."), field="keywords")
    return keywords


def _hours(values: RuleValues) -> tuple[int | None, int | None]:
    start, end = values.start_minute, values.end_minute
    if start is None and end is None:
        return None, None
    if start is None or end is None or start == end:
        raise AutoReplyError(N_("Enter both times of the hours, or neither."), field="start_time")
    if not (0 <= start < MINUTES_A_DAY and 0 <= end <= MINUTES_A_DAY):
        raise AutoReplyError(N_("Enter times between 00:00 and 24:00."), field="start_time")
    return start, end


def _weekdays(weekdays: str) -> str:
    days = "".join(sorted(set(weekdays or "") & set(ALL_WEEKDAYS)))
    if not days:
        raise AutoReplyError(N_("Choose at least one weekday."), field="weekdays")
    return days


def _template_id(session: Session, template_id: int | None) -> int | None:
    if template_id is None:
        return None
    template = session.get(MessageTemplate, template_id)
    if template is None or template.archived:
        raise AutoReplyError(N_("That template can no longer be used; choose another."), field="template_id")
    return template.id


def _actions(session: Session, actions: list[dict]) -> list[dict]:
    try:
        return validate_actions(session, actions)
    except TranslatableError as error:
        raise AutoReplyError(error.msgid, field="actions", **error.params) from error


def _tree(session: Session, tree) -> str | None:
    if tree in (None, "", {}):
        return None
    try:
        checked = validate(session, tree)
    except SegmentError as error:
        raise AutoReplyError(error.msgid, field="condition_tree", **error.params) from error
    return json.dumps(checked, ensure_ascii=False, sort_keys=True)
