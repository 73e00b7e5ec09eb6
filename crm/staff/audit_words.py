"""The audit log in words: what each action means, who did it, and what it was done to.

Action codes stay stable in the database (filters and the API use them); the console shows these words instead.
Features register how to name their targets (`register_target`), so the log links "友だち 佐藤花子" to her page
without the staff package knowing about friends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, url_for
from flask_babel import gettext as _
from sqlmodel import Session, select

from crm.errors import N_
from crm.i18n import tokyo_datetime

ACTION_WORDS: dict[str, str] = {
    "api_token.created": N_("Created an API token"),
    "api_token.revoked": N_("Revoked an API token"),
    "route.created": N_("Created an inflow route"),
    "route.changed": N_("Changed an inflow route"),
    "auto_reply.created": N_("Created an auto-reply"),
    "auto_reply.changed": N_("Changed an auto-reply"),
    "auto_reply.deleted": N_("Deleted an auto-reply"),
    "auto_reply.enabled": N_("Switched an auto-reply on"),
    "auto_reply.disabled": N_("Switched an auto-reply off"),
    "auto_reply.moved": N_("Moved an auto-reply in the order"),
    "auto_reply.stopped": N_("Paused every automatic answer (emergency stop)"),
    "auto_reply.resumed": N_("Resumed automatic answers"),
    "broadcast.create": N_("Created a broadcast"),
    "conversion_point.created": N_("Created a conversion point"),
    "conversion_point.changed": N_("Changed a conversion point"),
    "conversions.imported": N_("Imported purchases from a CSV file"),
    "broadcast.update": N_("Changed a broadcast"),
    "broadcast.copy": N_("Copied a broadcast"),
    "broadcast.draft": N_("Returned a broadcast to draft"),
    "broadcast.awaiting_approval": N_("Asked for approval of a broadcast"),
    "broadcast.scheduled": N_("Scheduled a broadcast"),
    "broadcast.sending": N_("Started sending a broadcast"),
    "broadcast.paused": N_("Paused a broadcast"),
    "broadcast.sent": N_("Finished sending a broadcast"),
    "broadcast.cancelled": N_("Cancelled a broadcast"),
    "broadcast.missed": N_("A broadcast missed its time"),
    "broadcast.failed": N_("A broadcast failed"),
    "broadcast.test_friend_add": N_("Added a test friend"),
    "broadcast.test_friend_remove": N_("Removed a test friend"),
    "field.defined": N_("Defined a custom field"),
    "field.definition_changed": N_("Changed a custom field"),
    "field.definition_deleted": N_("Deleted a custom field"),
    "field.set": N_("Set a custom field value"),
    "field.cleared": N_("Cleared a custom field value"),
    "followers_import.started": N_("Started importing followers from LINE"),
    "friend.tag_added": N_("Tagged a friend"),
    "friend.tag_removed": N_("Removed a tag from a friend"),
    "friend.erased": N_("Erased a friend's personal data"),
    "friend.data_exported": N_("Downloaded a friend's data"),
    "friends.bulk_tag_added": N_("Tagged friends in bulk"),
    "friends.exported": N_("Exported the friend list"),
    "friends.exported_all": N_("Exported all friend data"),
    "friends.list_viewed": N_("Viewed the friend list"),
    "import.uploaded": N_("Uploaded a CSV import"),
    "import.applied": N_("Applied a CSV import"),
    "import.discarded": N_("Discarded a CSV import"),
    "note.created": N_("Wrote a note"),
    "note.edited": N_("Edited a note"),
    "note.deleted": N_("Deleted a note"),
    "richmenu.created": N_("Created a rich menu"),
    "richmenu.updated": N_("Changed a rich menu"),
    "richmenu.deleted": N_("Deleted a rich menu"),
    "richmenu.image_uploaded": N_("Uploaded a rich menu image"),
    "richmenu.published": N_("Published a rich menu"),
    "richmenu.unpublished": N_("Withdrew a rich menu"),
    "richmenu.publish_failed": N_("Publishing a rich menu failed"),
    "richmenu.default_set": N_("Made a rich menu the default"),
    "richmenu.default_cleared": N_("Cleared the default rich menu"),
    "richmenu_rule.created": N_("Added a rich menu rule"),
    "richmenu_rule.deleted": N_("Deleted a rich menu rule"),
    "richmenu_rule.moved": N_("Reordered the rich menu rules"),
    "richmenu_rule.applied_to_all": N_("Applied the rich menu rules to every friend"),
    "segment.created": N_("Saved a segment"),
    "segment.changed": N_("Changed a segment"),
    "segment.deleted": N_("Deleted a segment"),
    "staff.created": N_("Added a staff account"),
    "staff.signed_in": N_("Signed in"),
    "staff.role_changed": N_("Changed a staff member's role"),
    "staff.password_reset": N_("Reset a staff member's password"),
    "staff.deactivated": N_("Deactivated a staff account"),
    "staff.reactivated": N_("Reactivated a staff account"),
    "survey.created": N_("Created a survey"),
    "survey.settings_changed": N_("Changed a survey's settings"),
    "survey.question_added": N_("Added a survey question"),
    "survey.question_changed": N_("Changed a survey question"),
    "survey.question_deleted": N_("Deleted a survey question"),
    "survey.question_moved": N_("Moved a survey question"),
    "survey.published": N_("Published a survey"),
    "survey.reopened": N_("Reopened a survey"),
    "survey.revision_started": N_("Started editing a published survey"),
    "survey.revision_discarded": N_("Discarded a survey's changes"),
    "survey.results_exported": N_("Exported survey results"),
    "tag.created": N_("Created a tag"),
    "tag.updated": N_("Changed a tag"),
    "tag.deleted": N_("Deleted a tag"),
    "tag_folder.created": N_("Created a tag folder"),
    "tag_folder.renamed": N_("Renamed a tag folder"),
    "tag_folder.deleted": N_("Deleted a tag folder"),
    "friend.attention": N_("Changed a friend's attention mark"),
    "friend.reading": N_("Changed the reading of a friend's name"),
    "chat.assigned": N_("Assigned a conversation to a staff member"),
    "richmenu.area_actions": N_("Changed what a rich-menu area's actions do"),
    "friends.bulk_attention": N_("Set the attention mark on many friends"),
    "link.actions": N_("Changed what a link's click does"),
    "scenario.created": N_("Created a scenario"),
    "scenario.updated": N_("Changed a scenario's settings"),
    "scenario.deleted": N_("Deleted a scenario"),
    "scenario.activated": N_("Started a scenario"),
    "scenario.paused": N_("Paused a scenario"),
    "scenario.resumed": N_("Resumed a scenario"),
    "scenario.archived": N_("Archived a scenario"),
    "scenario.step_added": N_("Added a scenario step"),
    "scenario.step_updated": N_("Changed a scenario step"),
    "scenario.step_moved": N_("Moved a scenario step"),
    "scenario.step_deleted": N_("Deleted a scenario step"),
    "scenario.enrolled": N_("Enrolled a friend in a scenario"),
    "scenario.removed": N_("Took a friend out of a scenario"),
    "scenario.segment_enrolled": N_("Enrolled a segment in a scenario"),
    "template.create": N_("Created a template"),
    "template.update": N_("Changed a template"),
    "template.copy": N_("Copied a template"),
    "template.archive": N_("Archived a template"),
    "template.restore": N_("Restored a template"),
    "template.button_actions": N_("Changed what a template button's actions do"),
    "webhook.created": N_("Added an outbound webhook"),
    "webhook.updated": N_("Changed an outbound webhook"),
    "webhook.deleted": N_("Deleted an outbound webhook"),
    "webhook_event.retried": N_("Retried a failed LINE event"),
}

# Action codes start with a word that is not always a target type: those words too.
ACTION_GROUP_WORDS: dict[str, str] = {
    "followers_import": N_("Followers import"),
    "friends": N_("Friends"),
    "import": N_("CSV import"),
    "note": N_("Note"),
    "richmenu": N_("Rich menu"),
    "richmenu_rule": N_("Rich menu rule"),
    "webhook": N_("Outbound webhook"),
    "webhook_event": N_("Failed LINE event"),
}

TARGET_WORDS: dict[str, str] = {
    "api_token": N_("API token"),
    "auto_reply": N_("Auto-reply"),
    "inflow_route": N_("Inflow route"),
    "auto_reply_switch": N_("Automatic answers"),
    "broadcast": N_("Broadcast"),
    "conversion_point": N_("Conversion point"),
    "failed_webhook_event": N_("Failed LINE event"),
    "field": N_("Custom field"),
    "follower_import": N_("Followers import"),
    "friend": N_("Friend"),
    "friend_list": N_("Friend list"),
    "link": N_("Tracked link"),
    "scenario": N_("Scenario"),
    "template": N_("Template"),
    "import_job": N_("CSV import"),
    "rich_menu": N_("Rich menu"),
    "rich_menu_rule": N_("Rich menu rule"),
    "segment": N_("Segment"),
    "staff": N_("Staff account"),
    "survey": N_("Survey"),
    "tag": N_("Tag"),
    "tag_folder": N_("Tag folder"),
    "webhook_endpoint": N_("Outbound webhook"),
}

# Actors that are not people: the prefix of Actor.label before ":" and how to say it.
SYSTEM_ACTORS: dict[str, str] = {
    "survey": N_("Survey #%(ref)s"),
    "click": N_("A click on link #%(ref)s"),
    "delivery": N_("Delivery"),
    "cli": N_("Command line"),
}


@dataclass(frozen=True)
class TargetRef:
    """A target's name as staff know it, and its page (None: no page)."""

    name: str
    url: str | None = None


# resolve(session, ids, role) -> {id: TargetRef}; ids are the stored target_id strings.
TargetResolver = Callable[[Session, list[str], str | None], dict[str, TargetRef]]
RESOLVERS_KEY = "crm_audit_targets"


def register_target(app: Flask, target_type: str, resolve: TargetResolver) -> None:
    """Let the audit log name (and link) targets of this type."""
    app.extensions.setdefault(RESOLVERS_KEY, {})[target_type] = resolve


def action_words(action: str) -> str:
    """The action in the console's language; an unknown code is shown in words built from its parts."""
    known = ACTION_WORDS.get(action)
    if known:
        return _(known)
    kind, _sep, verb = action.partition(".")
    return _("%(what)s: %(verb)s", what=target_words(kind), verb=verb.replace("_", " "))


def target_words(target_type: str | None) -> str:
    """A target type in words ("" for none)."""
    if not target_type:
        return ""
    known = TARGET_WORDS.get(target_type) or ACTION_GROUP_WORDS.get(target_type)
    return _(known) if known else target_type.replace("_", " ")


def actor_words(label: str, staff_names: dict[int, str], staff_id: int | None) -> str:
    """Who did it: a staff member's name, an integration, or what the system did."""
    if staff_id is not None and staff_id in staff_names:
        return staff_names[staff_id]
    kind, _sep, rest = label.partition(":")
    if kind == "staff":
        return rest
    if kind == "api":
        return _("Integration “%(name)s”", name=rest.rpartition("#")[0] or rest)
    template = SYSTEM_ACTORS.get(kind)
    return _(template, ref=rest) if template else label


def resolve_targets(app: Flask, session: Session, entries: list, role: str | None) -> dict[tuple[str, str], TargetRef]:
    """Names and pages of the entries' targets, one query per target type."""
    wanted: dict[str, set[str]] = {}
    for entry in entries:
        if entry.target_type and entry.target_id:
            wanted.setdefault(entry.target_type, set()).add(entry.target_id)
    resolvers = app.extensions.get(RESOLVERS_KEY, {})
    found: dict[tuple[str, str], TargetRef] = {}
    for target_type, ids in wanted.items():
        resolve = resolvers.get(target_type)
        if resolve is None:
            continue
        for target_id, ref in resolve(session, sorted(ids), role).items():
            found[(target_type, target_id)] = ref
    return found


def numeric_ids(ids: list[str]) -> list[int]:
    """The ids that are integers (targets are stored as text)."""
    return [int(value) for value in ids if value.isdigit()]


@dataclass(frozen=True)
class Change:
    """One key of a before/after snapshot, both sides ready to read."""

    key: str
    before: str
    after: str


ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?$")


def readable_value(value) -> str:
    """A snapshot value for people: Tokyo times, yes/no, lists joined, nested objects as compact JSON."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str) and ISO_DATETIME.match(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return tokyo_datetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC), "yyyy/MM/dd HH:mm:ss")
    if isinstance(value, list) and all(not isinstance(item, dict | list) for item in value):
        return "、".join(readable_value(item) for item in value) or "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _snapshot(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"": text}
    return value if isinstance(value, dict) else {"": value}


def changes(before: str | None, after: str | None) -> list[Change]:
    """The keys of both snapshots in order, each with its value before and after ("—" where absent)."""
    old, new = _snapshot(before), _snapshot(after)
    keys = sorted(set(old) | set(new))
    return [
        Change(
            key, readable_value(old.get(key)) if key in old else "", readable_value(new.get(key)) if key in new else ""
        )
        for key in keys
    ]


def action_choices() -> list[tuple[str, str]]:
    """Filter choices: each kind of target ("tag." = every action on tags), then each action, in words."""
    prefixes = sorted({code.partition(".")[0] for code in ACTION_WORDS})
    groups = [(f"{prefix}.", _("%(what)s (every action)", what=target_words(prefix))) for prefix in prefixes]
    actions = sorted(((code, _(words)) for code, words in ACTION_WORDS.items()), key=lambda item: item[1])
    return groups + actions


def target_choices() -> list[tuple[str, str]]:
    """Filter choices for the target type, in words."""
    return sorted(((code, _(words)) for code, words in TARGET_WORDS.items()), key=lambda item: item[1])


def named_rows(model, name_column, *, endpoint: str | None = None, id_arg: str | None = None) -> TargetResolver:
    """A resolver for targets that are rows with a name (and a console page at `endpoint`)."""

    def resolve(session: Session, ids: list[str], _role: str | None) -> dict[str, TargetRef]:
        numbers = numeric_ids(ids)
        if not numbers:
            return {}
        rows = session.exec(select(model.id, name_column).where(model.id.in_(numbers))).all()
        return {
            str(row_id): TargetRef(name, url_for(endpoint, **{id_arg: row_id}) if endpoint else None)
            for row_id, name in rows
        }

    return resolve
