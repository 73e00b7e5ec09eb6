"""The web form: a signed, expiring link per friend and survey, and the mobile page that stores the answers."""

from __future__ import annotations

import uuid

from flask import Blueprint, Flask, abort, current_app, render_template, request
from flask_babel import force_locale
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from wtforms import HiddenField

from crm.db import get_session, unit_of_work
from crm.errors import N_
from crm.friends.models import Friend, FriendStatus
from crm.i18n import DEFAULT_LOCALE, LOCALES, message_of
from crm.timeutil import utcnow
from surveys import web_answers
from surveys.errors import SurveyError
from surveys.models import Survey
from surveys.questions import choices_of

bp = Blueprint("survey_form", __name__)
SALT = "survey-form-link"
DEFAULT_MAX_AGE_SECONDS = 7 * 24 * 3600


class LinkError(Exception):
    """A link that was tampered with ("invalid") or is too old ("expired")."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class AnswerForm(FlaskForm):
    """The CSRF token and the key that makes a resubmitted form store nothing twice."""

    submission_key = HiddenField()


def _serializer(app: Flask) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=SALT)


def make_token(app: Flask, *, friend_id: int, survey_id: int) -> str:
    """A signed token naming the friend and the survey, timestamped now."""
    return _serializer(app).dumps([friend_id, survey_id])


def link_for(app: Flask, *, friend_id: int, survey_id: int) -> str:
    """The friend's personal web-form URL for a survey (put it in a message)."""
    path = app.url_map.bind("localhost").build(
        "survey_form.show", {"token": make_token(app, friend_id=friend_id, survey_id=survey_id)}
    )
    return (app.config.get("PUBLIC_BASE_URL") or "").rstrip("/") + path


def read_token(app: Flask, token: str) -> tuple[int, int]:
    """(friend_id, survey_id) of a token; LinkError when it was tampered with or has expired."""
    max_age = int(app.config.get("SURVEY_LINK_MAX_AGE_SECONDS", DEFAULT_MAX_AGE_SECONDS))
    try:
        value = _serializer(app).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkError("expired") from None
    except BadSignature:
        raise LinkError("invalid") from None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        raise LinkError("invalid")
    return value[0], value[1]


def _locale(friend: Friend | None) -> str:
    language = ((friend.language if friend else None) or "").split("-")[0]
    return language if language in LOCALES else DEFAULT_LOCALE


def _page(template: str, friend: Friend | None, status: int = 200, **context):
    """Render a friend-facing page in the friend's language (Japanese unless LINE told us otherwise)."""
    with force_locale(_locale(friend)):
        return render_template(template, **context), status


def _friend(token: str):
    """The friend and survey id of the link, or the page that explains why the link cannot be used."""
    try:
        friend_id, survey_id = read_token(current_app, token)
    except LinkError as error:
        return (
            None,
            None,
            _page("surveys/link_problem.html", None, 410 if error.reason == "expired" else 400, reason=error.reason),
        )
    friend = get_session().get(Friend, friend_id)
    if friend is None:
        return None, None, _page("surveys/link_problem.html", None, 400, reason="invalid")
    if friend.status == FriendStatus.ERASED:  # the link outlived the person's data: as good as expired
        return None, None, _page("surveys/link_problem.html", None, 410, reason="expired")
    return friend, survey_id, None


def _form_page(friend: Friend, survey_id: int, form: AnswerForm, *, errors=None, values=None, status: int = 200):
    db = get_session()
    try:
        survey, questions = web_answers.open_survey(db, survey_id=survey_id, friend_id=friend.id)
    except SurveyError as error:
        return _closed(friend, error)
    if not form.submission_key.data:
        form.submission_key.data = str(uuid.uuid4())
    with force_locale(_locale(friend)):
        messages = {key: message_of(error) for key, error in (errors or {}).items()}
    return _page(
        "surveys/form.html",
        friend,
        status,
        survey=survey,
        questions=questions,
        form=form,
        choices=choices_of(db, [q.id for q in questions]),
        values=values or {},
        errors=messages,
    )


def _closed(friend: Friend, error: SurveyError):
    """The page for a survey that is closed, or already answered by this friend."""
    with force_locale(_locale(friend)):
        message = message_of(error)
    return _page("surveys/closed.html", friend, 200 if error.field == "answered" else 410, message=message)


@bp.errorhandler(CSRFError)
def csrf_failed(_error):
    """A form sent without a valid CSRF token (an old page, or a forged post): nothing is stored."""
    friend, _survey_id, problem = _friend((request.view_args or {}).get("token", ""))
    if problem is not None:
        return problem
    return _page("surveys/link_problem.html", friend, 400, reason="form_expired", retry_url=request.path)


@bp.get("/s/<token>")
def show(token: str):
    """The survey form for the friend named in the link."""
    friend, survey_id, problem = _friend(token)
    if problem is not None:
        return problem
    return _form_page(friend, survey_id, AnswerForm(formdata=None))


@bp.post("/s/<token>")
def submit(token: str):
    """Store the friend's answers (nothing is stored for a bad, expired or forged submission)."""
    friend, survey_id, problem = _friend(token)
    if problem is not None:
        return problem
    form = AnswerForm()
    values = {int(key[1:]): request.form.getlist(key) for key in request.form if key[1:].isdigit() and key[0] == "q"}
    if not form.validate_on_submit():
        return _form_page(
            friend,
            survey_id,
            form,
            values=values,
            status=400,
            errors={"form": SurveyError(N_("The form has expired. Please send it again."))},
        )
    db = get_session()
    with unit_of_work(SurveyError) as work:
        response = web_answers.submit(
            db,
            survey_id=survey_id,
            friend_id=friend.id,
            values=values,
            submission_key=_key(form.submission_key.data),
            at=utcnow(),
        )
    if isinstance(work.error, web_answers.AnswerErrors):
        return _form_page(friend, survey_id, form, errors=work.error.errors, values=values, status=400)
    if work.failed:
        return _closed(friend, work.error)
    return _page("surveys/thanks.html", friend, survey=db.get(Survey, response.survey_id))


def _key(value: str | None) -> str:
    """The form's submission key, which must be a UUID."""
    try:
        return str(uuid.UUID(value or ""))
    except ValueError:
        abort(400)
