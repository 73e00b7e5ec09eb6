"""The survey builder in the console: create, questions, publish, new versions, close; who may do what."""

import re

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.staff.models import AuditEntry
from surveys.models import Survey, SurveyChoice, SurveyQuestion, SurveyVersion
from tests.console_helpers import csrf_token, post_form, signed_in_client
from tests.factories import make_tag
from tests.surveys.helpers import build_survey, single


def new_survey(client, **data) -> int:
    response = post_form(client, "/surveys/new", {"title": "Visit survey", **data}, "/surveys")
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/surveys/(\d+)$", response.headers["Location"]).group(1))


def question_data(kind="single", text="How often?", labels=("Weekly", "Rarely"), required=True, **extra) -> dict:
    data = {"kind": kind, "text": text, "save_field": "", **extra}
    if required:
        data["required"] = "y"
    for index in range(13):
        label = labels[index] if index < len(labels) else ""
        data.update(
            {
                f"choices-{index}-label": label,
                f"choices-{index}-add_tag": "",
                f"choices-{index}-remove_tag": "",
                f"choices-{index}-field": "",
                f"choices-{index}-field_value": "",
            }
        )
    return data


def add_question(client, survey_id: int, **kwargs):
    path = f"/surveys/{survey_id}/questions/new"
    return post_form(client, path, question_data(**kwargs), path)


def stored_questions(app, survey_id: int) -> list[tuple[int, str, list[str]]]:
    """(version number, question text, choice labels) of every version, in order."""
    with session_scope(get_engine(app)) as session:
        rows = session.exec(
            select(SurveyVersion.number, SurveyQuestion)
            .join(SurveyQuestion, SurveyQuestion.version_id == SurveyVersion.id)
            .where(SurveyVersion.survey_id == survey_id)
            .order_by(SurveyVersion.number, SurveyQuestion.position)
        ).all()
        return [
            (
                number,
                q.text,
                [
                    c.label
                    for c in session.exec(
                        select(SurveyChoice).where(SurveyChoice.question_id == q.id).order_by(SurveyChoice.position)
                    )
                ],
            )
            for number, q in rows
        ]


@pytest.mark.parametrize("role", ["editor", "marketer", "admin"])
def test_editors_build_and_publish_a_survey(app, role):
    client = signed_in_client(app, role, locale="en")
    survey_id = new_survey(client, keyword="Visit", intro="Hello", completion_message="Thanks")
    tag = make_tag(app, "weekly")
    data = question_data()
    data["choices-0-add_tag"] = str(tag)
    path = f"/surveys/{survey_id}/questions/new"
    assert post_form(client, path, data, path).status_code == 302
    assert add_question(client, survey_id, kind="text", text="Comments?", labels=(), required=False).status_code == 302
    page = client.get(f"/surveys/{survey_id}").get_data(as_text=True)
    assert "How often?" in page and "Comments?" in page and f"sv:s:{survey_id}" in page
    assert post_form(client, f"/surveys/{survey_id}/publish", {}, f"/surveys/{survey_id}").status_code == 302
    with session_scope(get_engine(app)) as session:
        survey = session.get(Survey, survey_id)
        assert (survey.status, survey.keyword) == ("published", "visit")
    assert stored_questions(app, survey_id) == [(1, "How often?", ["Weekly", "Rarely"]), (1, "Comments?", [])]


@pytest.mark.parametrize("role", ["staff", "analyst"])
def test_other_roles_cannot_build(app, role):
    survey_id = build_survey(app, single("Q", "A", "B"))
    client = signed_in_client(app, role, locale="en")
    for path in (
        "/surveys",
        f"/surveys/{survey_id}",
        f"/surveys/{survey_id}/questions/new",
        f"/surveys/{survey_id}/settings",
    ):
        assert client.get(path).status_code == 403
    token = csrf_token(client, "/")
    assert client.post("/surveys/new", data={"title": "x", "csrf_token": token}).status_code == 403
    assert client.post(f"/surveys/{survey_id}/close", data={"csrf_token": token}).status_code == 403


def test_nav_shows_surveys_by_permission(app):
    assert ">Surveys<" in signed_in_client(app, "editor", locale="en").get("/").get_data(as_text=True)
    analyst_home = signed_in_client(app, "analyst", locale="en").get("/").get_data(as_text=True)
    assert ">Survey results<" in analyst_home and ">Surveys<" not in analyst_home
    staff_home = signed_in_client(app, "staff", locale="en").get("/").get_data(as_text=True)
    assert "Survey" not in staff_home


def test_builder_refuses_what_line_cannot_show(app):
    client = signed_in_client(app, "editor", locale="en")
    survey_id = new_survey(client)
    too_many = tuple(f"Choice {n}" for n in range(13))
    cases = [
        (dict(labels=too_many, required=False), "enter 1 to 12 choices"),
        (dict(kind="multiple", labels=too_many), "enter 1 to 12 choices"),
        (dict(labels=("This label is far too long for LINE",)), "at most 20 characters"),
        (dict(labels=("Same", "Same")), "each choice must be different"),
        (dict(labels=()), "enter 1 to 13 choices"),
    ]
    for kwargs, message in cases:
        response = add_question(client, survey_id, **kwargs)
        assert response.status_code == 400, kwargs
        assert message in response.get_data(as_text=True), kwargs
    assert add_question(client, survey_id, labels=too_many).status_code == 302  # 13 fit a required single choice
    assert stored_questions(app, survey_id)[0][2] == list(too_many)


def test_publishing_needs_a_question_and_keywords_are_unique(app):
    client = signed_in_client(app, "editor", locale="en")
    first = new_survey(client, keyword="coupon")
    response = post_form(client, f"/surveys/{first}/publish", {}, f"/surveys/{first}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Add at least one question before publishing." in page
    clash = post_form(client, "/surveys/new", {"title": "Other", "keyword": "ＣＯＵＰＯＮ"}, "/surveys")
    assert clash.status_code == 400
    assert "another survey already starts with “coupon”" in clash.get_data(as_text=True)
    cancel = post_form(client, "/surveys/new", {"title": "Other", "keyword": "キャンセル"}, "/surveys")
    assert cancel.status_code == 400


def test_published_questions_change_only_through_a_new_version(app):
    client = signed_in_client(app, "editor", locale="en")
    survey_id = build_survey(app, single("Old question", "A", "B"))
    with session_scope(get_engine(app)) as session:
        live_question = session.exec(select(SurveyQuestion)).one()
    edit = f"/surveys/{survey_id}/questions/{live_question.id}/edit"
    assert client.get(edit).status_code == 302  # nothing to edit in place
    assert post_form(client, f"/surveys/{survey_id}/revise", {}, f"/surveys/{survey_id}").status_code == 302
    with session_scope(get_engine(app)) as session:
        draft_question = session.exec(select(SurveyQuestion).where(SurveyQuestion.id != live_question.id)).one()
    path = f"/surveys/{survey_id}/questions/{draft_question.id}/edit"
    assert client.get(path).status_code == 200
    assert post_form(client, path, question_data(text="New question", labels=("A", "B", "C")), path).status_code == 302
    assert stored_questions(app, survey_id) == [(1, "Old question", ["A", "B"]), (2, "New question", ["A", "B", "C"])]
    assert post_form(client, f"/surveys/{survey_id}/publish", {}, f"/surveys/{survey_id}").status_code == 302
    with session_scope(get_engine(app)) as session:
        states = session.exec(select(SurveyVersion.number, SurveyVersion.state).order_by(SurveyVersion.number)).all()
    assert states == [(1, "retired"), (2, "live")]


def test_questions_move_and_delete_in_a_draft(app):
    client = signed_in_client(app, "editor", locale="en")
    survey_id = new_survey(client)
    for text in ("First", "Second", "Third"):
        add_question(client, survey_id, text=text)
    ids = {text: qid for _n, text, qid in _ids(app, survey_id)}
    show = f"/surveys/{survey_id}"
    assert post_form(client, f"{show}/questions/{ids['Third']}/move/up", {}, show).status_code == 302
    assert post_form(client, f"{show}/questions/{ids['First']}/delete", {}, show).status_code == 302
    assert [text for _n, text, _labels in stored_questions(app, survey_id)] == ["Third", "Second"]


def _ids(app, survey_id):
    with session_scope(get_engine(app)) as session:
        return [(q.position, q.text, q.id) for q in session.exec(select(SurveyQuestion))]


def test_close_and_reopen_are_audited(app):
    client = signed_in_client(app, "marketer", locale="en")
    survey_id = build_survey(app, single("Q", "A", "B"))
    show = f"/surveys/{survey_id}"
    assert post_form(client, f"{show}/close", {}, show).status_code == 302
    assert post_form(client, f"{show}/reopen", {}, show).status_code == 302
    with session_scope(get_engine(app)) as session:
        actions = session.exec(
            select(AuditEntry.action, AuditEntry.actor)
            .where(AuditEntry.target_type == "survey")
            .order_by(AuditEntry.id)
        ).all()
    assert actions[-2:] == [
        ("survey.closed", "staff:marketer@example.com"),
        ("survey.reopened", "staff:marketer@example.com"),
    ]


def test_settings_form_saves(app):
    client = signed_in_client(app, "editor", locale="en")
    survey_id = build_survey(app, single("Q", "A", "B"))
    path = f"/surveys/{survey_id}/settings"
    assert "Visit survey" in client.get(path).get_data(as_text=True)
    response = post_form(client, path, {"title": "Renamed", "allow_repeat": "y", "completion_message": "Bye"}, path)
    assert response.status_code == 302
    with session_scope(get_engine(app)) as session:
        survey = session.get(Survey, survey_id)
        assert (survey.title, survey.allow_repeat, survey.completion_message) == ("Renamed", True, "Bye")


def test_a_choice_says_which_actions_it_runs(app):
    vip = make_tag(app, "VIP")
    survey_id = build_survey(app, single("ご来店の頻度は？", "毎週", "たまに", 毎週={"add_tag_id": vip}), publish=False)
    page = signed_in_client(app, "editor").get(f"/surveys/{survey_id}").get_data(as_text=True)
    items = re.findall(r"<li>(.*?)</li>", page[page.index('class="survey-choice-list"') :], re.S)[:2]
    assert "毎週" in items[0] and "→ タグ「VIP」を付ける" in items[0]
    assert "たまに" in items[1] and "→" not in items[1]
    assert "アクションあり" not in page
