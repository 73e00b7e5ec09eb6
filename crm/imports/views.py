"""CSV import pages: upload, map columns (with suggestions), dry-run preview, apply in batches with progress.

Applying runs one batch of rows per POST and commits it with the job's cursor; the progress page posts the
next batch by itself (a button without JavaScript), so an interrupted import continues where it stopped.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlmodel import Session, select

from crm.console.forms import form_error
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.errors import TranslatableError
from crm.fields import service as fields
from crm.i18n import message_of
from crm.imports import rows as import_rows
from crm.imports.csv_reader import (
    FIELD_PREFIX,
    IGNORE,
    NOTE,
    READING,
    TAGS,
    USER_ID,
    CsvImportError,
    parse,
    sample_rows,
)
from crm.imports.models import ImportJob, ImportStatus
from crm.permissions import can

bp = Blueprint("imports", __name__, url_prefix="/imports")
# Importing writes tags, field values, notes and readings: the role needs each of those permissions.
NEEDED = ("fields.set", "tags.manage", "notes.write", "friends.edit")
TARGET_LABELS = {
    IGNORE: _l("Do not import"),
    USER_ID: _l("LINE user ID"),
    TAGS: _l("Tags (comma-separated)"),
    NOTE: _l("Note"),
    READING: _l("Reading"),
}

STATUS_LABELS = {
    ImportStatus.UPLOADED: _l("Columns not chosen"),
    ImportStatus.MAPPED: _l("Checked, not applied"),
    ImportStatus.APPLYING: _l("Importing"),
    ImportStatus.DONE: _l("Finished"),
    ImportStatus.DISCARDED: _l("Discarded"),
}


class UploadForm(FlaskForm):
    file = FileField(_l("CSV file (UTF-8 or Shift_JIS)"), validators=[FileRequired()])


class ActionForm(FlaskForm):
    """A button-only form (the CSRF token): save mapping, apply, discard."""


def _check_role() -> None:
    if not all(can(current_user.role, permission) for permission in NEEDED):
        abort(403)


def _job_or_404(db: Session, job_id: int, *, lock: bool = False) -> ImportJob:
    """The job (locked on PostgreSQL when applying: two tabs must not apply the same batch)."""
    _check_role()
    job = db.get(ImportJob, job_id, with_for_update=lock or None)
    if job is None:
        abort(404)
    return job


@bp.get("")
@requires("fields.set")
def index(form: UploadForm | None = None, status: int = 200):
    """Recent imports and the upload form."""
    _check_role()
    jobs = get_session().exec(select(ImportJob).order_by(ImportJob.id.desc()).limit(20)).all()
    return render_template(
        "imports/index.html",
        jobs=jobs,
        form=form or UploadForm(),
        status_labels=STATUS_LABELS,
        max_mb=_max_bytes() / 1024 / 1024,
    ), status


def _max_bytes() -> int:
    return int(current_app.config["IMPORT_MAX_BYTES"])


@bp.post("")
@requires("fields.set")
def upload():
    """Check the file (encoding, structure, a user-id column) and store it as a job; nothing else changes."""
    _check_role()
    form = UploadForm()
    if not form.validate_on_submit():
        return index(form, 400)
    data = form.file.data.read(_max_bytes() + 1)
    if len(data) > _max_bytes():
        form.file.errors.append(
            _("The file is larger than %(mb).0f MB. Split it into smaller files.", mb=_max_bytes() / 1024 / 1024)
        )
        return index(form, 400)
    try:
        parsed = parse(data)
    except CsvImportError as error:
        form_error(form, error, "file")
        return index(form, 400)
    with unit_of_work():
        job = import_rows.create_job(
            get_session(), parsed, filename=form.file.data.filename or "", actor=current_actor()
        )
    return redirect(url_for("imports.show", job_id=job.id))


def _targets(db: Session) -> list[tuple[str, str]]:
    """(value, label) of every column target: the fixed ones, then one per custom field."""
    return [
        *((key, str(label)) for key, label in TARGET_LABELS.items()),
        *((FIELD_PREFIX + d.key, _("Field: %(label)s", label=d.label)) for d in fields.list_definitions(db)),
    ]


@bp.get("/<int:job_id>")
@requires("fields.set")
def show(job_id: int, preview=None, error: str | None = None, status: int = 200):
    """The job: the column mapping (before applying), the dry-run preview, or the progress."""
    db = get_session()
    job = _job_or_404(db, job_id)
    header = json.loads(job.header)
    sample = sample_rows(job.content)[:5] if job.content else []
    return render_template(
        "imports/show.html",
        job=job,
        header=header,
        mapping=json.loads(job.mapping or "[]"),
        sample=sample,
        targets=_targets(db),
        preview=preview,
        error=error,
        form=ActionForm(),
        statuses=ImportStatus,
        message=message_of,
    ), status


@bp.post("/<int:job_id>/mapping")
@requires("fields.set")
def mapping(job_id: int):
    """Save the column targets and show the dry run (every row checked, nothing written)."""
    db = get_session()
    job = _job_or_404(db, job_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    chosen = [request.form.get(f"column-{index}", IGNORE) for index in range(len(json.loads(job.header)))]
    with unit_of_work(TranslatableError) as work:
        import_rows.save_mapping(db, job, chosen)
        result = import_rows.preview(db, job)
    if work.failed:
        return show(job_id, error=message_of(work.error), status=400)
    return show(job_id, preview=result)


@bp.post("/<int:job_id>/apply")
@requires("fields.set")
def apply(job_id: int):
    """Apply the next batch of rows and commit it; the progress page asks for the next one."""
    db = get_session()
    job = _job_or_404(db, job_id, lock=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    if job.status not in (ImportStatus.MAPPED, ImportStatus.APPLYING):
        flash(_("This import cannot be applied now."), "error")
        return redirect(url_for("imports.show", job_id=job_id))
    with unit_of_work(TranslatableError) as work:
        import_rows.apply_batch(db, job, actor=current_actor())
    if work.failed:
        return show(job_id, error=message_of(work.error), status=400)
    return redirect(url_for("imports.show", job_id=job_id))


@bp.post("/<int:job_id>/discard")
@requires("fields.set")
def discard(job_id: int):
    """Drop the stored file; rows already applied stay."""
    db = get_session()
    job = _job_or_404(db, job_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if job.status != ImportStatus.DONE:
        with unit_of_work():
            import_rows.discard_job(db, job, actor=current_actor())
    return redirect(url_for("imports.index"))
