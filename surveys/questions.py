"""Questions and choices of a survey's draft version: validated specs, add, change, move, delete, copy."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import Session, select

from crm.errors import N_
from crm.fields import service as fields
from crm.fields.models import FieldDefinition
from crm.staff.audit import Actor, record
from surveys import actions
from surveys.errors import SurveyError
from surveys.models import QuestionKind, SurveyChoice, SurveyQuestion, SurveyVersion, VersionState

QUICK_REPLY_MAX = 13
QUESTION_MAX = 2000
LABEL_MAX = 20


@dataclass(frozen=True)
class ChoiceSpec:
    """A choice as the editor enters it, with its optional actions."""

    label: str
    add_tag_id: int | None = None
    remove_tag_id: int | None = None
    field_id: int | None = None
    field_value: str | None = None
    more_actions: tuple[dict, ...] = ()  # any other registered action kinds, in the engine's format


@dataclass(frozen=True)
class QuestionSpec:
    """A question as the editor enters it."""

    kind: str
    text: str
    required: bool = True
    choices: tuple[ChoiceSpec, ...] = ()
    save_field_id: int | None = None


def max_choices(kind: str, required: bool) -> int:
    """Quick replies hold 13 buttons; multiple choice needs a Done button, optional questions a Skip button."""
    return QUICK_REPLY_MAX - (1 if kind == QuestionKind.MULTIPLE or not required else 0)


def list_questions(session: Session, version_id: int) -> list[SurveyQuestion]:
    """A version's questions in order."""
    return list(
        session.exec(
            select(SurveyQuestion)
            .where(SurveyQuestion.version_id == version_id)
            .order_by(SurveyQuestion.position, SurveyQuestion.id)
        ).all()
    )


def choices_of(session: Session, question_ids: list[int]) -> dict[int, list[SurveyChoice]]:
    """The choices of these questions in order, by question id."""
    found: dict[int, list[SurveyChoice]] = {qid: [] for qid in question_ids}
    if question_ids:
        rows = session.exec(
            select(SurveyChoice)
            .where(SurveyChoice.question_id.in_(question_ids))
            .order_by(SurveyChoice.position, SurveyChoice.id)
        )
        for choice in rows:
            found[choice.question_id].append(choice)
    return found


def _check(session: Session, spec: QuestionSpec) -> list[tuple[str, list[dict]]]:
    """Validate a question; return its choices as (label, actions)."""
    text = spec.text.strip()
    if spec.kind not in tuple(QuestionKind):
        raise SurveyError(N_("Type: choose single choice, multiple choice or free text."), field="kind")
    if not text or len(text) > QUESTION_MAX:
        raise SurveyError(N_("Question: enter 1 to %(max)d characters."), max=QUESTION_MAX, field="text")
    if spec.kind == QuestionKind.TEXT:
        if spec.save_field_id and session.get(FieldDefinition, spec.save_field_id) is None:
            raise SurveyError(N_("That field no longer exists."), field="save_field")
        return []
    choices = [c for c in spec.choices if c.label.strip()]
    limit = max_choices(spec.kind, spec.required)
    if not choices or len(choices) > limit:
        raise SurveyError(
            N_(
                "Choices: enter 1 to %(max)d choices (LINE shows at most 13 buttons; multiple choice "
                "needs one for Done and optional questions one for Skip)."
            ),
            max=limit,
            field="choices",
        )
    labels = [c.label.strip() for c in choices]
    if any(len(label) > LABEL_MAX for label in labels):
        raise SurveyError(
            N_("Choices: a label can have at most %(max)d characters (LINE's button limit)."),
            max=LABEL_MAX,
            field="choices",
        )
    if len(set(labels)) != len(labels):
        raise SurveyError(N_("Choices: each choice must be different."), field="choices")
    return [
        (
            label,
            actions.build(
                session,
                add_tag_id=c.add_tag_id,
                remove_tag_id=c.remove_tag_id,
                field_id=c.field_id,
                field_value=c.field_value,
                label=label,
                more=list(c.more_actions),
            ),
        )
        for label, c in zip(labels, choices, strict=False)
    ]


def draft_version(session: Session, survey_id: int) -> SurveyVersion:
    """The version being edited; published questions are never edited in place."""
    draft = session.exec(
        select(SurveyVersion).where(SurveyVersion.survey_id == survey_id, SurveyVersion.state == VersionState.DRAFT)
    ).first()
    if draft is None:
        raise SurveyError(N_("Published questions cannot be changed in place: start a new version first."))
    return draft


def draft_question(session: Session, survey_id: int, question_id: int) -> SurveyQuestion:
    """A question of the survey's draft version, or a SurveyError."""
    question = session.get(SurveyQuestion, question_id)
    if question is None or question.version_id != draft_version(session, survey_id).id:
        raise SurveyError(N_("This question cannot be changed."), field="not_found")
    return question


def _write(
    session: Session, question: SurveyQuestion, spec: QuestionSpec, choices: list[tuple[str, list]], actor: Actor
) -> None:
    saved_to = spec.save_field_id if spec.kind == QuestionKind.TEXT else None
    if saved_to and saved_to != question.save_field_id:
        # free text typed by friends (addresses, phone numbers) makes the field personal unless an admin
        # later decides otherwise
        fields.mark_personal(session, field_id=saved_to, actor=actor)
    question.kind, question.text, question.required = spec.kind, spec.text.strip(), spec.required
    question.save_field_id = saved_to
    session.add(question)
    session.flush()
    session.exec(delete(SurveyChoice).where(SurveyChoice.question_id == question.id))
    for position, (label, stored) in enumerate(choices):
        session.add(SurveyChoice(question_id=question.id, position=position, label=label, actions=actions.dump(stored)))


def snapshot(session: Session, question: SurveyQuestion) -> dict:
    """The audited form of a question with its choices."""
    choices = choices_of(session, [question.id])[question.id]
    return {
        "kind": question.kind,
        "text": question.text,
        "required": question.required,
        "save_field_id": question.save_field_id,
        "choices": [{"label": c.label, "actions": actions.parse(c.actions)} for c in choices],
    }


def add_question(session: Session, *, survey_id: int, spec: QuestionSpec, actor: Actor) -> SurveyQuestion:
    """Append a question to the draft version (audited)."""
    draft = draft_version(session, survey_id)
    choices = _check(session, spec)
    position = len(list_questions(session, draft.id))
    question = SurveyQuestion(version_id=draft.id, position=position, kind=spec.kind, text=spec.text)
    _write(session, question, spec, choices, actor)
    session.flush()
    record(
        session,
        actor=actor,
        action="survey.question_added",
        target_type="survey",
        target_id=survey_id,
        after=snapshot(session, question),
    )
    return question


def update_question(
    session: Session, *, survey_id: int, question_id: int, spec: QuestionSpec, actor: Actor
) -> SurveyQuestion:
    """Change a draft question and its choices (audited)."""
    question = draft_question(session, survey_id, question_id)
    choices = _check(session, spec)
    before = snapshot(session, question)
    _write(session, question, spec, choices, actor)
    session.flush()
    record(
        session,
        actor=actor,
        action="survey.question_changed",
        target_type="survey",
        target_id=survey_id,
        before=before,
        after=snapshot(session, question),
    )
    return question


def delete_question(session: Session, *, survey_id: int, question_id: int, actor: Actor) -> None:
    """Remove a draft question (audited)."""
    question = draft_question(session, survey_id, question_id)
    record(
        session,
        actor=actor,
        action="survey.question_deleted",
        target_type="survey",
        target_id=survey_id,
        before=snapshot(session, question),
    )
    session.exec(delete(SurveyChoice).where(SurveyChoice.question_id == question.id))
    session.delete(question)
    session.flush()
    _renumber(list_questions(session, question.version_id))


def move_question(session: Session, *, survey_id: int, question_id: int, offset: int, actor: Actor) -> None:
    """Move a draft question up (-1) or down (+1)."""
    question = draft_question(session, survey_id, question_id)
    ordered = list_questions(session, question.version_id)
    index = ordered.index(question)
    target = max(0, min(len(ordered) - 1, index + offset))
    ordered.insert(target, ordered.pop(index))
    _renumber(ordered)
    record(
        session,
        actor=actor,
        action="survey.question_moved",
        target_type="survey",
        target_id=survey_id,
        after={"question_id": question_id, "position": target},
    )


def _renumber(ordered: list[SurveyQuestion]) -> None:
    for position, question in enumerate(ordered):
        question.position = position


def copy_questions(session: Session, *, from_version_id: int, to_version_id: int) -> None:
    """Copy every question and choice of one version into another."""
    old = list_questions(session, from_version_id)
    old_choices = choices_of(session, [q.id for q in old])
    for question in old:
        copy = SurveyQuestion(
            version_id=to_version_id,
            position=question.position,
            kind=question.kind,
            text=question.text,
            required=question.required,
            save_field_id=question.save_field_id,
        )
        session.add(copy)
        session.flush()
        for choice in old_choices[question.id]:
            session.add(
                SurveyChoice(question_id=copy.id, position=choice.position, label=choice.label, actions=choice.actions)
            )


def delete_version_questions(session: Session, *, version_id: int) -> None:
    """Delete a draft version's questions and choices (it has no answers)."""
    ids = [q.id for q in list_questions(session, version_id)]
    if ids:
        session.exec(delete(SurveyChoice).where(SurveyChoice.question_id.in_(ids)))
        session.exec(delete(SurveyQuestion).where(SurveyQuestion.id.in_(ids)))
