"""Checking and applying the rows of a CSV import job through the tag, field, note and reading services.

A dry run (`preview`) checks every row and writes nothing. `apply_batch` applies the next rows of the job and
moves its cursor in the same transaction, so the caller's commit per batch makes the import resumable with
each row applied exactly once. Rows with any error are skipped whole (the preview lists them by row number).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import islice

from sqlmodel import Session, select

from crm.errors import N_, TranslatableError
from crm.fields import service as fields
from crm.fields.models import FieldDefinition
from crm.friends import notes, reading
from crm.friends.models import ERASED_PREFIX, Friend, Note
from crm.imports.csv_reader import (
    FIELD_PREFIX,
    NOTE,
    READING,
    TAGS,
    USER_ID,
    ParsedFile,
    data_rows,
    sample_rows,
    split_tags,
    suggest,
)
from crm.imports.models import ImportJob, ImportStatus
from crm.staff.audit import Actor, record
from crm.tags import admin as tag_admin
from crm.tags.models import Tag
from crm.tags.service import add_tag_to_many
from crm.timeutil import utcnow

BATCH_ROWS = 500
MAX_REPORTED_ERRORS = 200


@dataclass
class RowError:
    """One problem of one row: row number, column name and a translatable message."""

    row: int
    column: str
    error: TranslatableError


@dataclass
class RowPlan:
    """What one valid row changes."""

    row: int
    friend_id: int
    tags: list[str] = field(default_factory=list)
    fields: dict[int, str] = field(default_factory=dict)
    note: str | None = None
    reading: str | None = None


@dataclass
class Preview:
    """The dry run's result."""

    rows: int = 0
    valid: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_rows: int = 0
    new_tags: set[str] = field(default_factory=set)
    sample: list[RowPlan] = field(default_factory=list)


def check_mapping(mapping: list[str], header: list[str], definitions: dict[str, FieldDefinition]) -> None:
    """Exactly one user-id column, and every field target an existing field."""
    if len(mapping) != len(header) or mapping.count(USER_ID) != 1:
        raise TranslatableError(N_("Choose exactly one column as the LINE user ID."))
    for target in mapping:
        if target.startswith(FIELD_PREFIX) and target[len(FIELD_PREFIX) :] not in definitions:
            raise TranslatableError(N_("A chosen field no longer exists."))


def _definitions(session: Session) -> dict[str, FieldDefinition]:
    return {d.key: d for d in fields.list_definitions(session)}


def plan_rows(
    session: Session,
    header: list[str],
    mapping: list[str],
    rows: list[tuple[int, list[str]]],
    definitions: dict[str, FieldDefinition],
) -> tuple[list[RowPlan], list[RowError]]:
    """Check a batch of (row number, cells): known user id, valid field values and notes. Reads only."""
    id_column = mapping.index(USER_ID)
    # An erased friend's "erased:..." id is not a LINE user id: it never matches an import row.
    wanted = {cells[id_column].strip() for _row, cells in rows} - {""}
    wanted = {user_id for user_id in wanted if not user_id.startswith(ERASED_PREFIX)}
    friends = dict(session.exec(select(Friend.line_user_id, Friend.id).where(Friend.line_user_id.in_(wanted))).all())
    plans, errors = [], []
    for row, cells in rows:
        user_id = cells[id_column].strip()
        plan, problems = RowPlan(row, friends.get(user_id, 0)), []
        if not plan.friend_id:
            problems.append(
                RowError(
                    row,
                    header[id_column],
                    TranslatableError(N_("Unknown LINE user ID %(user_id)s."), user_id=user_id[:40] or "—"),
                )
            )
        for name, target, cell in zip(header, mapping, cells, strict=False):
            try:
                _plan_cell(plan, target, cell.strip(), definitions)
            except TranslatableError as error:
                problems.append(RowError(row, name, error))
        (errors.extend(problems) if problems else plans.append(plan))
    return plans, errors


def _plan_cell(plan: RowPlan, target: str, cell: str, definitions: dict[str, FieldDefinition]) -> None:
    """Add one cell to the row's plan (empty cells change nothing); raise its validation error."""
    if not cell or target == USER_ID:
        return
    if target == TAGS:
        names = [tag_admin.normalise_name(name) for name in split_tags(cell)]
        if any(len(name) > tag_admin.NAME_MAX for name in names):
            raise TranslatableError(N_("A tag name has more than %(max)d characters."), max=tag_admin.NAME_MAX)
        plan.tags.extend(names)
    elif target == NOTE:
        plan.note = notes.clean_body(cell)
    elif target == READING:
        plan.reading = reading.clean_reading(cell)
    elif target.startswith(FIELD_PREFIX):
        definition = definitions[target[len(FIELD_PREFIX) :]]
        plan.fields[definition.id] = fields.canonical_value(definition, cell)


def _tag_keys(session: Session) -> dict[str, int]:
    """Existing tags by name key (NFKC, case-folded, as tag names are unique)."""
    return {
        tag_admin.normalise_name(name).casefold(): tag_id for tag_id, name in session.exec(select(Tag.id, Tag.name))
    }


def preview(session: Session, job: ImportJob) -> Preview:
    """Check every row of the job with its mapping; change nothing."""
    header, mapping, definitions = json.loads(job.header), json.loads(job.mapping), _definitions(session)
    check_mapping(mapping, header, definitions)
    result, known = Preview(), _tag_keys(session)
    rows = ((row, cells) for _index, row, cells in data_rows(job.content))
    while batch := list(islice(rows, BATCH_ROWS)):
        plans, errors = plan_rows(session, header, mapping, batch, definitions)
        result.rows += len(batch)
        result.valid += len(plans)
        result.error_rows += len({error.row for error in errors})
        result.errors.extend(errors[: MAX_REPORTED_ERRORS - len(result.errors)])
        result.new_tags |= {name for plan in plans for name in plan.tags if name.casefold() not in known}
        result.sample.extend(plans[: 20 - len(result.sample)])
    return result


def apply_batch(session: Session, job: ImportJob, *, actor: Actor, size: int | None = None) -> ImportJob:
    """Apply the job's next `size` rows and move its cursor (the caller commits); finish when none remain."""
    header, mapping, definitions = json.loads(job.header), json.loads(job.mapping), _definitions(session)
    check_mapping(mapping, header, definitions)
    size = size or BATCH_ROWS
    batch = list(islice(data_rows(job.content, job.next_row), size))
    plans, errors = plan_rows(session, header, mapping, [(row, cells) for _i, row, cells in batch], definitions)
    _apply_plans(session, plans, actor)
    job.applied_rows += len(plans)
    job.skipped_rows += len({error.row for error in errors})
    job.next_row = batch[-1][0] + 1 if batch else job.total_rows
    job.status, job.updated_at = ImportStatus.APPLYING, utcnow()
    if len(batch) < size or job.next_row >= job.total_rows:
        _finish(session, job, actor)
    session.add(job)
    return job


def _apply_plans(session: Session, plans: list[RowPlan], actor: Actor) -> None:
    """Tags grouped per tag (bulk insert), then field values, readings and notes per row, all through the
    services."""
    known, by_tag = _tag_keys(session), defaultdict(set)
    for plan in plans:
        for name in plan.tags:
            if name.casefold() not in known:
                known[name.casefold()] = tag_admin.create_tag(session, name=name, actor=actor).id
            by_tag[known[name.casefold()]].add(plan.friend_id)
    for tag_id, friend_ids in by_tag.items():
        add_tag_to_many(session, friend_ids=sorted(friend_ids), tag_id=tag_id, actor=actor)
    existing = _notes_of(session, {plan.friend_id for plan in plans if plan.note})
    for plan in plans:
        for field_id, value in plan.fields.items():
            fields.set_field_value(session, friend_id=plan.friend_id, field_id=field_id, raw_value=value, actor=actor)
        if plan.reading:
            reading.set_reading(session, friend_id=plan.friend_id, text=plan.reading, actor=actor)
        if plan.note and (plan.friend_id, plan.note) not in existing:
            notes.create_note(session, friend_id=plan.friend_id, body=plan.note, actor=actor)
            existing.add((plan.friend_id, plan.note))


def _notes_of(session: Session, friend_ids: set[int]) -> set[tuple[int, str]]:
    """(friend, text) of the batch's friends' notes, in one query: importing the same file twice (or a row
    repeated in it) adds no duplicate notes."""
    if not friend_ids:
        return set()
    return set(session.exec(select(Note.friend_id, Note.body).where(Note.friend_id.in_(friend_ids))).all())


def _finish(session: Session, job: ImportJob, actor: Actor) -> None:
    """Mark done and drop the stored file (it holds personal data); audit the totals."""
    job.status, job.finished_at, job.content = ImportStatus.DONE, utcnow(), None
    record(
        session,
        actor=actor,
        action="import.applied",
        target_type="import_job",
        target_id=job.id,
        after={"applied": job.applied_rows, "skipped": job.skipped_rows, "rows": job.total_rows},
    )


def create_job(session: Session, parsed: ParsedFile, *, filename: str, actor: Actor) -> ImportJob:
    """Store a checked file as a job with suggested column targets (audited without the content)."""
    definitions = fields.list_definitions(session)
    mapping = suggest(parsed.header, sample_rows(parsed.text), definitions)
    job = ImportJob(
        filename=filename[:255] or "import.csv",
        encoding=parsed.encoding,
        content=parsed.text,
        header=json.dumps(parsed.header, ensure_ascii=False),
        total_rows=parsed.rows,
        mapping=json.dumps(mapping),
        created_by=actor.staff_id,
    )
    session.add(job)
    session.flush()
    record(
        session,
        actor=actor,
        action="import.uploaded",
        target_type="import_job",
        target_id=job.id,
        after={"filename": job.filename, "encoding": job.encoding, "rows": job.total_rows},
    )
    return job


def save_mapping(session: Session, job: ImportJob, mapping: list[str]) -> None:
    """Check and store the staff member's column targets (only before applying starts)."""
    if job.status not in (ImportStatus.UPLOADED, ImportStatus.MAPPED):
        raise TranslatableError(N_("This import has already started; its columns cannot change."))
    check_mapping(mapping, json.loads(job.header), _definitions(session))
    job.mapping, job.status, job.updated_at = json.dumps(mapping), ImportStatus.MAPPED, utcnow()
    session.add(job)


def discard_job(session: Session, job: ImportJob, *, actor: Actor) -> None:
    """Drop a job's stored file (rows already applied stay applied)."""
    job.status, job.content, job.updated_at = ImportStatus.DISCARDED, None, utcnow()
    session.add(job)
    record(
        session,
        actor=actor,
        action="import.discarded",
        target_type="import_job",
        target_id=job.id,
        after={"applied": job.applied_rows, "rows": job.total_rows},
    )
