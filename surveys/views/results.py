"""Survey results in the console: counts, per-question answers, per-friend answers and the audited CSV export.

Roles without personal data (analysts) see masked names, free text without who wrote it, and no free text
next to a friend.
"""

from __future__ import annotations

import csv
import io

from flask import Response, render_template, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from crm.console.args import row_id_arg
from crm.console.charts import shares
from crm.console.guard import current_actor, requires
from crm.csv_cells import safe_cell
from crm.db import get_session, unit_of_work
from crm.permissions import masks_personal_data, visible_name
from crm.staff.audit import record
from crm.timeutil import to_tokyo, utcnow
from surveys import builder, results
from surveys.forms import KIND_LABELS
from surveys.models import QuestionKind, SurveyQuestion
from surveys.views.builder import bp, load_survey

PAGE = 100


@bp.get("/results")
@requires("reports.view")
def results_index():
    """Every survey with its response count and completion rate."""
    db = get_session()
    surveys = builder.list_surveys(db)
    return render_template(
        "surveys/results_index.html", surveys=surveys, summaries={s.id: results.summary(db, s.id) for s in surveys}
    )


@bp.get("/<int:survey_id>/results")
@requires("reports.view")
def results_page(survey_id: int):
    """A survey's results."""
    db = get_session()
    survey = load_survey(survey_id)
    before = row_id_arg("before")
    rows = results.response_rows(db, survey_id, before_id=before, limit=PAGE)
    versions = [(v, results.question_results(db, v.id)) for v in results.versions_with_answers(db, survey_id)]
    masked = masks_personal_data(current_user.role)
    return render_template(
        "surveys/results.html",
        survey=survey,
        summary=results.summary(db, survey_id),
        versions=versions,
        rows=rows,
        next_before=rows[-1].response.id if len(rows) == PAGE else None,
        kind_labels=KIND_LABELS,
        masked=masked,
        name_of=lambda friend: visible_name(friend, current_user.role),
        questions_of={v.id: [r.question for r in qr] for v, qr in versions},
        share_charts={
            result.question.id: shares(
                result.question.text, [(choice.label, count) for choice, count in result.choices], total=result.answered
            )
            for _version, question_results in versions
            for result in question_results
        },
    )


@bp.get("/<int:survey_id>/results.csv")
@requires("reports.view")
def results_csv(survey_id: int):
    """Every response as CSV (UTF-8 with BOM for Excel), streamed in batches and audited."""
    db = get_session()
    survey = load_survey(survey_id)
    masked = masks_personal_data(current_user.role)
    now = utcnow()
    with unit_of_work():
        record(
            db,
            actor=current_actor(),
            action="survey.results_exported",
            target_type="survey",
            target_id=survey_id,
            after={"responses": results.summary(db, survey_id).started, "masked": masked},
        )
    name = f"survey-{survey.id}-{to_tokyo(now):%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(_csv(db, survey_id, current_user.role)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _time(value) -> str:
    return "" if value is None else to_tokyo(value).strftime("%Y-%m-%d %H:%M:%S")


def _csv(db, survey_id: int, role: str):
    """Yield the CSV text batch by batch; the session's connection goes back to the pool when the last batch
    is out (a client that reads to the end without closing the response must not keep it)."""
    try:
        yield from _csv_batches(db, survey_id, role)
    finally:
        db.close()


def _csv_batches(db, survey_id: int, role: str):
    """Yield the CSV text batch by batch (names, LINE user IDs and free text hidden from masked roles)."""
    masked = masks_personal_data(role)
    columns = results.csv_columns(db, survey_id)
    every_id = [qid for _text, ids in columns for qid in ids]
    text_ids = set(
        db.exec(
            select(SurveyQuestion.id).where(SurveyQuestion.kind == QuestionKind.TEXT, SurveyQuestion.id.in_(every_id))
        )
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    head = [_("Response ID"), _("Friend ID")] + ([] if masked else [_("LINE user ID")])
    writer.writerow(
        head
        + [_("Display name"), _("Status"), _("Answered in"), _("Started"), _("Finished")]
        + [safe_cell(text) for text, _ids in columns]
    )
    yield "\ufeff" + buffer.getvalue()
    for batch in results.response_batches(db, survey_id):
        buffer.seek(0)
        buffer.truncate()
        for row in batch:
            friend, response = row.friend, row.response
            who = [response.id, friend.id] + ([] if masked else [friend.line_user_id])
            cells = [_answer_cell(row.answers, ids, masked and bool(set(ids) & text_ids)) for _text, ids in columns]
            writer.writerow(
                who
                + [
                    safe_cell(visible_name(friend, role)),
                    response.status,
                    response.channel,
                    _time(response.started_at),
                    _time(response.finished_at),
                ]
                + cells
            )
        yield buffer.getvalue()


def _answer_cell(answers: dict[int, list[str]], question_ids: list[int], hidden: bool) -> str:
    given = next((answers[qid] for qid in question_ids if qid in answers), None)
    if given is None:
        return ""
    return _("(hidden)") if hidden else safe_cell("; ".join(given))
