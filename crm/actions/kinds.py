"""The core action kinds: tags, custom fields and the staff attention mark (要対応, or cleared)."""

from __future__ import annotations

from sqlmodel import Session

from crm.actions.registry import ActionContext, ActionError, ActionKind, register_kind
from crm.errors import N_
from crm.fields import service as fields
from crm.fields.models import FieldDefinition
from crm.friends import attention
from crm.i18n import translate
from crm.staff.audit import Actor
from crm.tags import service as tags
from crm.tags.models import Tag

ATTENTION_STATES = {
    "needed": N_("Mark as needing attention"),
    "in_progress": N_("Mark as in progress"),
    "done": N_("Mark as handled"),
    attention.CLEAR: N_("Clear the attention mark"),
}


def actor_of(context: ActionContext) -> Actor:
    """Who the audit log names for an action: its source ("survey:3", "link:12", "scenario:4")."""
    return Actor.system(context.source)


def id_param(params: dict, key: str) -> int:
    """A positive integer parameter, or ActionError."""
    try:
        value = int(params.get(key))
    except (TypeError, ValueError):
        value = 0
    if value <= 0:
        raise ActionError(N_("choose one."))
    return value


def _tag_params(session: Session, params: dict) -> dict:
    tag_id = id_param(params, "tag_id")
    if session.get(Tag, tag_id) is None:
        raise ActionError(N_("that tag no longer exists."))
    return {"tag_id": tag_id}


def _tag_name(session: Session, params: dict) -> str:
    tag = session.get(Tag, int(params.get("tag_id") or 0))
    return tag.name if tag else translate(N_("(deleted tag)"))


def _add_tag(context: ActionContext) -> bool:
    tag_id = int(context.params["tag_id"])
    if context.session.get(Tag, tag_id) is None:
        return False
    return tags.add_tag(context.session, friend_id=context.friend_id, tag_id=tag_id, actor=actor_of(context))


def _add_tag_many(session: Session, friend_ids: list[int], params: dict, source: str) -> list[int]:
    tag_id = int(params["tag_id"])
    if session.get(Tag, tag_id) is None:
        return []
    return tags.add_tag_to_each(session, friend_ids=friend_ids, tag_id=tag_id, actor=Actor.system(source))


def _remove_tag(context: ActionContext) -> bool:
    tag_id = int(context.params["tag_id"])
    if context.session.get(Tag, tag_id) is None:
        return False
    return tags.remove_tag(context.session, friend_id=context.friend_id, tag_id=tag_id, actor=actor_of(context))


def _field(session: Session, params: dict) -> FieldDefinition:
    try:
        return fields.get_definition(session, id_param(params, "field_id"))
    except fields.FieldValidationError as error:
        raise ActionError(error.msgid, **error.params) from None


def _set_field_params(session: Session, params: dict) -> dict:
    definition = _field(session, params)
    raw = params.get("value")
    try:
        value = fields.canonical_value(definition, None if raw is None else str(raw))
    except fields.FieldValidationError as error:
        raise ActionError(error.msgid, **error.params) from None
    if not value:
        raise ActionError(N_("enter the value to set."))
    return {"field_id": definition.id, "value": value}


def _clear_field_params(session: Session, params: dict) -> dict:
    definition = _field(session, params)
    if definition.required:
        raise ActionError(N_("%(label)s is required and cannot be emptied."), label=definition.label)
    return {"field_id": definition.id}


def _field_label(session: Session, params: dict) -> str:
    definition = session.get(FieldDefinition, int(params.get("field_id") or 0))
    return definition.label if definition else translate(N_("(deleted field)"))


def _set_field(context: ActionContext) -> bool:
    field_id = int(context.params["field_id"])
    if context.session.get(FieldDefinition, field_id) is None:
        return False
    fields.set_field_value(
        context.session,
        friend_id=context.friend_id,
        field_id=field_id,
        raw_value=str(context.params.get("value") or ""),
        actor=actor_of(context),
    )
    return True


def _clear_field(context: ActionContext) -> bool:
    field_id = int(context.params["field_id"])
    if context.session.get(FieldDefinition, field_id) is None:
        return False
    return fields.clear_field_value(
        context.session, friend_id=context.friend_id, field_id=field_id, actor=actor_of(context)
    )


def _attention_params(_session: Session, params: dict) -> dict:
    state = params.get("state")
    if state not in ATTENTION_STATES:
        raise ActionError(N_("choose one."))
    return {"state": state}


def _mark_attention(context: ActionContext) -> bool:
    changed = attention.set_attention(
        context.session,
        friend_ids=[context.friend_id],
        state=attention.parse_state(context.params["state"]),
        actor=actor_of(context),
        notify=False,  # the run is the friend's history of this change
    )
    return bool(changed)


ADD_TAG = ActionKind(
    "add_tag",
    N_("Add a tag"),
    _tag_params,
    _add_tag,
    lambda session, params: translate(N_("Add tag “%(name)s”"), {"name": _tag_name(session, params)}),
    run_many=_add_tag_many,
)
REMOVE_TAG = ActionKind(
    "remove_tag",
    N_("Remove a tag"),
    _tag_params,
    _remove_tag,
    lambda session, params: translate(N_("Remove tag “%(name)s”"), {"name": _tag_name(session, params)}),
)
SET_FIELD = ActionKind(
    "set_field",
    N_("Set a friend field"),
    _set_field_params,
    _set_field,
    lambda session, params: translate(
        N_("Set friend field “%(label)s” to “%(value)s”"),
        {"label": _field_label(session, params), "value": params.get("value")},
    ),
)
CLEAR_FIELD = ActionKind(
    "clear_field",
    N_("Clear a friend field"),
    _clear_field_params,
    _clear_field,
    lambda session, params: translate(N_("Clear friend field “%(label)s”"), {"label": _field_label(session, params)}),
)
MARK_ATTENTION = ActionKind(
    "mark_attention",
    N_("Mark for staff attention"),
    _attention_params,
    _mark_attention,
    lambda _session, params: translate(ATTENTION_STATES.get(params.get("state"), N_("Mark for staff attention"))),
)
CORE_KINDS = (ADD_TAG, REMOVE_TAG, SET_FIELD, CLEAR_FIELD, MARK_ATTENTION)


def register_core_kinds() -> None:
    """Make the core kinds known (idempotent)."""
    for action_kind in CORE_KINDS:
        register_kind(action_kind)
