"""Per-choice actions: any registered action kind, validated by the action engine when built, run through it
once per answer when answered."""

from __future__ import annotations

import json

from sqlmodel import Session

from crm.actions import engine as action_engine
from crm.actions.registry import ActionError
from crm.errors import N_
from crm.fields import service as fields
from crm.staff.audit import Actor
from surveys.errors import SurveyError

ADD_TAG, REMOVE_TAG, SET_FIELD = "add_tag", "remove_tag", "set_field"


def survey_actor(survey_id: int) -> Actor:
    """The actor recorded for changes a survey makes ("by survey X")."""
    return Actor.system(survey_source(survey_id))


def survey_source(survey_id: int) -> str:
    """The action engine's source for a survey's actions (the friend's history names the survey)."""
    return f"survey:{survey_id}"


def parse(raw: str | None) -> list[dict]:
    """The stored JSON list of actions."""
    value = json.loads(raw or "[]")
    return value if isinstance(value, list) else []


def described(session: Session, choices) -> dict[int, list[str]]:
    """Each choice's actions in words (the console's language), by choice id; choices without actions left out."""
    return {
        choice.id: action_engine.describe_actions(session, listed)
        for choice in choices
        if (listed := parse(choice.actions))
    }


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
    more: list[dict] | None = None,
) -> list[dict]:
    """Validate the actions of one choice (the tag and field shortcuts, then any others) and return them in
    stored form."""
    if add_tag_id and add_tag_id == remove_tag_id:
        raise SurveyError(
            N_("Choice “%(label)s”: a tag cannot be added and removed at once."), label=label, field="choices"
        )
    actions = [
        {"type": kind, "tag_id": tag_id} for kind, tag_id in ((ADD_TAG, add_tag_id), (REMOVE_TAG, remove_tag_id))
    ]
    actions = [action for action in actions if action["tag_id"]]
    if field_id:
        actions.append({"type": SET_FIELD, "field_id": field_id, "value": field_value})
    try:
        shortcuts = action_engine.validate_actions(session, actions)
    except ActionError as error:  # the row's own selects: the problem without a position
        raise _choice_error(label, error.params.get("problem", error)) from None
    try:
        return shortcuts + action_engine.validate_actions(session, list(more or []))
    except ActionError as error:  # the choice's action editor: "Action N: …"
        raise _choice_error(label, error) from None


def _choice_error(label: str, problem) -> SurveyError:
    return SurveyError(N_("Choice “%(label)s”: %(problem)s"), label=label, field="choices", problem=problem)


def apply(session: Session, *, actions: list[dict], friend_id: int, survey_id: int, answer_id: int) -> None:
    """Run a chosen choice's actions through the action engine, once per answer (a tag or field deleted since is
    skipped, a failing action recorded in the friend's history)."""
    action_engine.run_actions(
        session,
        friend_id=friend_id,
        actions=actions,
        trigger_key=f"survey_answer:{answer_id}",
        source=survey_source(survey_id),
    )


def save_text(session: Session, *, field_id: int | None, text: str, friend_id: int, survey_id: int) -> None:
    """Save a free-text answer to its custom field (already validated by `check_text`; a field deleted since
    is skipped)."""
    if not field_id:
        return
    try:
        fields.set_field_value(
            session, friend_id=friend_id, field_id=field_id, raw_value=text, actor=survey_actor(survey_id)
        )
    except fields.FieldValidationError:
        pass


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
