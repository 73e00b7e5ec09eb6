"""Per-choice actions (add tag, remove tag, set a custom field), validated when built, applied when answered."""

from __future__ import annotations

import json
import logging

from sqlmodel import Session

from crm.errors import N_
from crm.fields import service as fields
from crm.staff.audit import Actor
from crm.tags import service as tags
from crm.tags.models import Tag
from surveys.errors import SurveyError

log = logging.getLogger(__name__)
ADD_TAG, REMOVE_TAG, SET_FIELD = "add_tag", "remove_tag", "set_field"


def survey_actor(survey_id: int) -> Actor:
    """The actor recorded for changes a survey makes ("by survey X")."""
    return Actor.system(f"survey:{survey_id}")


def parse(raw: str | None) -> list[dict]:
    """The stored JSON list of actions."""
    value = json.loads(raw or "[]")
    return value if isinstance(value, list) else []


def dump(actions: list[dict]) -> str:
    """The JSON stored for a list of actions."""
    return json.dumps(actions, ensure_ascii=False, sort_keys=True)


def build(
    session: Session,
    *,
    add_tag_id: int | None,
    remove_tag_id: int | None,
    field_id: int | None,
    field_value: str | None,
    label: str,
) -> list[dict]:
    """Validate the actions of one choice and return them in stored form."""
    actions = []
    for kind, tag_id in ((ADD_TAG, add_tag_id), (REMOVE_TAG, remove_tag_id)):
        if tag_id:
            if session.get(Tag, tag_id) is None:
                raise SurveyError(N_("Choice “%(label)s”: that tag no longer exists."), label=label, field="choices")
            actions.append({"type": kind, "tag_id": tag_id})
    if add_tag_id and add_tag_id == remove_tag_id:
        raise SurveyError(
            N_("Choice “%(label)s”: a tag cannot be added and removed at once."), label=label, field="choices"
        )
    if field_id:
        actions.append(
            {"type": SET_FIELD, "field_id": field_id, "value": _field_value(session, field_id, field_value, label)}
        )
    return actions


def _field_value(session: Session, field_id: int, raw: str | None, label: str) -> str:
    try:
        return fields.canonical_value(fields.get_definition(session, field_id), raw)
    except fields.FieldValidationError as error:
        raise SurveyError(N_("Choice “%(label)s”: %(problem)s"), label=label, field="choices", problem=error) from None


def apply(session: Session, *, actions: list[dict], friend_id: int, survey_id: int) -> None:
    """Apply actions through the tag and field services; a tag or field deleted since is skipped."""
    actor = survey_actor(survey_id)
    for action in actions:
        try:
            _apply_one(session, action, friend_id, actor)
        except (tags.TagError, fields.FieldValidationError) as error:
            log.warning("survey_action_skipped survey_id=%s action=%s reason=%s", survey_id, action, error)


def _apply_one(session: Session, action: dict, friend_id: int, actor: Actor) -> None:
    kind = action.get("type")
    if kind == ADD_TAG:
        tags.add_tag(session, friend_id=friend_id, tag_id=int(action["tag_id"]), actor=actor)
    elif kind == REMOVE_TAG:
        if session.get(Tag, int(action["tag_id"])) is not None:
            tags.remove_tag(session, friend_id=friend_id, tag_id=int(action["tag_id"]), actor=actor)
    elif kind == SET_FIELD:
        fields.set_field_value(
            session,
            friend_id=friend_id,
            field_id=int(action["field_id"]),
            raw_value=str(action.get("value") or ""),
            actor=actor,
        )


def save_text(session: Session, *, field_id: int | None, text: str, friend_id: int, survey_id: int) -> None:
    """Save a free-text answer to its custom field (already validated by `check_text`)."""
    if field_id:
        apply(
            session,
            actions=[{"type": SET_FIELD, "field_id": field_id, "value": text}],
            friend_id=friend_id,
            survey_id=survey_id,
        )


def check_text(session: Session, *, field_id: int | None, text: str) -> None:
    """Refuse a free-text answer its custom field cannot hold (a deleted field accepts anything)."""
    if not field_id:
        return
    try:
        definition = fields.get_definition(session, field_id)
    except fields.FieldValidationError:
        return
    try:
        fields.canonical_value(definition, text)
    except fields.FieldValidationError as error:
        raise SurveyError(error.msgid, **error.params) from None
