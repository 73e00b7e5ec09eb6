"""Scenario facts in the console's words: a step's timing, a template's excerpt, actions, exit reasons."""

from __future__ import annotations

import json

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from crm.actions.engine import describe_actions
from crm.message_templates.models import MessageTemplate
from crm.scenarios.models import ExitReason, ScenarioStatus, ScenarioStep
from crm.scenarios.timing import describe_timing

EXCERPT_CHARS = 60
STATUS_LABELS = {
    ScenarioStatus.DRAFT: _l("Draft"),
    ScenarioStatus.ACTIVE: _l("Sending"),
    ScenarioStatus.PAUSED: _l("Paused"),
    ScenarioStatus.ARCHIVED: _l("Archived"),
}
EXIT_LABELS = {
    ExitReason.GOAL: _l("Reached the goal"),
    ExitReason.BLOCKED: _l("Blocked the account"),
    ExitReason.NO_REACTION: _l("No reaction"),
    ExitReason.OPTED_OUT: _l("Opted out (配信停止)"),
    ExitReason.STAFF: _l("Stopped by staff"),
    ExitReason.HIGHER_PRIORITY: _l("A higher-priority scenario started"),
    ExitReason.RESTARTED: _l("Started over"),
    ExitReason.ERASED: _l("Data erased"),
    ExitReason.INFLOW_ROUTE: _l("Came through an inflow route without friend-added scenarios"),
}
MESSAGE_KINDS = {
    "image": _l("[Image]"),
    "sticker": _l("[Sticker]"),
    "flex": _l("[Flex message]"),
    "template": _l("[Buttons]"),
    "imagemap": _l("[Image map]"),
    "video": _l("[Video]"),
}


def clock(minute: int | None) -> str:
    return "" if minute is None else f"{minute // 60:02d}:{minute % 60:02d}"


def duration(minutes: int) -> str:
    """3 days / 2 hours / 30 minutes, in the largest whole unit."""
    if minutes and minutes % 1440 == 0:
        return _("%(count)s days", count=minutes // 1440)
    if minutes and minutes % 60 == 0:
        return _("%(count)s hours", count=minutes // 60)
    return _("%(count)s minutes", count=minutes)


def timing(step: ScenarioStep, trigger_kind: str, field_label: str | None) -> str:
    """The step's timing in words, e.g. 「友だち追加の3日後 10:00」."""
    return describe_timing(step, trigger_kind, field_label)


def excerpt(template: MessageTemplate | None) -> str:
    """The first words the friend sees, or what kind of message comes first."""
    if template is None:
        return ""
    try:
        messages = json.loads(template.messages)
    except ValueError:
        return ""
    for message in messages:
        if message.get("type") == "text":
            text = " ".join(message.get("text", "").split())
            return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"
    first = messages[0].get("type") if messages else ""
    return str(MESSAGE_KINDS.get(first, ""))


def actions(session: Session, raw: str) -> list[str]:
    """Each action of a step in words."""
    items = json.loads(raw or "[]")
    return describe_actions(session, items) if items else []
