"""Results: counts and completion rate, per-question counts, free text, per-friend answers, CSV; analysts masked."""

import csv
import io

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends import service as friends
from crm.staff.models import AuditEntry
from crm.timeutil import utcnow
from surveys import answers as flow_answers
from surveys import builder, questions, results
from surveys import responses as flow_responses
from surveys.models import SurveyChoice
from tests.console_helpers import signed_in_client
from tests.surveys.helpers import EDITOR, build_survey, free, multiple, single


def add_friend(app, user: str, name: str) -> int:
    with session_scope(get_engine(app)) as session:
        friend_id = friends.follow(session, line_user_id=user, at=utcnow())
        session.get(friends.Friend, friend_id).display_name = name
        return friend_id


def choice_id(app, label: str, version_number: int | None = None) -> tuple[int, int]:
    """(question id, choice id) of the latest choice with this label."""
    with session_scope(get_engine(app)) as session:
        choice = session.exec(
            select(SurveyChoice).where(SurveyChoice.label == label).order_by(SurveyChoice.id.desc())
        ).first()
        return choice.question_id, choice.id


def answer(app, friend: int, survey_id: int, *steps) -> None:
    """Answer in the chat through the services: labels for choices, ("done",) for Done, text otherwise."""
    with session_scope(get_engine(app)) as session:
        turn = flow_responses.start(session, survey_id=survey_id, friend_id=friend, at=utcnow())
        for step in steps:
            question = turn.question
            who = dict(friend_id=friend, response_id=turn.response.id, question_id=question.id, at=utcnow())
            labels = {c.label: c.id for c in turn.choices}
            if step == "done":
                turn = flow_answers.finish_multiple(session, **who)
            elif question.kind == "multiple":
                turn = flow_answers.toggle_choice(session, choice_id=labels[step], selected=True, **who)
            elif question.kind == "single":
                turn = flow_answers.answer_choice(session, choice_id=labels[step], **who)
            else:
                turn = flow_answers.answer_text(session, friend_id=friend, text=step, at=utcnow())


@pytest.fixture
def answered(app):
    """Three friends: two finished (chat), one stopped after the first question."""
    survey_id = build_survey(
        app,
        single("Visit?", "Weekly", "Rarely"),
        multiple("Drinks", "Coffee", "Tea"),
        free("Comment"),
        allow_repeat=True,
    )
    hanako, taro, jiro = (
        add_friend(app, "U" + c * 32, name)
        for c, name in (("a", "Hanako Yamada"), ("b", "Taro Sato"), ("c", "=cmd|' /C calc'!A0"))
    )
    answer(app, hanako, survey_id, "Weekly", "Coffee", "Tea", "done", "Lovely staff")
    answer(app, taro, survey_id, "Rarely", "Tea", "done", "Call me on 090-1234-5678")
    answer(app, jiro, survey_id, "Weekly", "Coffee")  # Coffee ticked, Done not tapped yet
    return survey_id, (hanako, taro, jiro)


def test_numbers(app, answered):
    survey_id, _ = answered
    with session_scope(get_engine(app)) as session:
        summary = results.summary(session, survey_id)
        [version] = results.versions_with_answers(session, survey_id)
        per_question = results.question_results(session, version.id)
    assert (summary.started, summary.counts["completed"], summary.friends) == (3, 2, 3)
    assert summary.completion_rate == pytest.approx(2 / 3)
    visit, drinks, comment = per_question
    assert [(c.label, n) for c, n in visit.choices] == [("Weekly", 2), ("Rarely", 1)]
    assert visit.answered == 3
    assert [(c.label, n) for c, n in drinks.choices] == [("Coffee", 1), ("Tea", 2)]  # jiro's pending tick not counted
    assert drinks.answered == 2
    assert sorted(text for _f, text, _at in comment.texts) == ["Call me on 090-1234-5678", "Lovely staff"]


def test_results_page_for_marketer_shows_names(app, answered):
    survey_id, _ = answered
    html = signed_in_client(app, "marketer", locale="en").get(f"/surveys/{survey_id}/results").get_data(as_text=True)
    assert "Hanako Yamada" in html and "Lovely staff" in html
    assert 'data-figure="rate"><span class="value">67%' in html


def _share(html, question_id, label):
    """(count, percent) of one answer's bar on the results page."""
    chart = html[html.index(f'id="survey-question-{question_id}"') :]
    row = chart[chart.index(f'data-choice="{label}"') :].split("</tr>")[0]
    return tuple(row.split(f'data-figure="{figure}">')[1].split("<")[0] for figure in ("count", "percent"))


def test_choices_are_drawn_as_bars_with_counts_and_shares_of_those_who_answered(app, answered):
    survey_id, _ = answered
    html = signed_in_client(app, "analyst").get(f"/surveys/{survey_id}/results").get_data(as_text=True)
    visit, _choice = choice_id(app, "Weekly")
    drinks, _choice = choice_id(app, "Coffee")
    assert _share(html, visit, "Weekly") == ("2", "66.7%") and _share(html, visit, "Rarely") == ("1", "33.3%")
    # Several answers per friend: shares of the 2 who answered, so they add up to more than 100 %.
    assert _share(html, drinks, "Coffee") == ("1", "50.0%") and _share(html, drinks, "Tea") == ("2", "100.0%")
    assert '<rect width="66.67" height="10" class="bar solid"/>' in html


def test_analysts_see_results_masked(app, answered):
    survey_id, _ = answered
    client = signed_in_client(app, "analyst", locale="en")
    html = client.get(f"/surveys/{survey_id}/results").get_data(as_text=True)
    assert "Hanako Yamada" not in html and "H＊＊" in html
    assert html.count("(hidden)") == 2  # free text is not shown next to a friend
    assert client.get("/surveys/results").status_code == 200
    rows = list(csv.reader(io.StringIO(client.get(f"/surveys/{survey_id}/results.csv").get_data(as_text=True))))
    assert "LINE user ID" not in rows[0] and "Hanako Yamada" not in str(rows)
    assert "Lovely staff" not in str(rows) and "(hidden)" in str(rows)


def test_csv_export_is_audited_and_excel_safe(app, answered):
    survey_id, (hanako, taro, jiro) = answered
    response = signed_in_client(app, "admin", locale="en").get(f"/surveys/{survey_id}/results.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    head, *rows = list(csv.reader(io.StringIO(text[1:])))
    assert head[-3:] == ["Visit?", "Drinks", "Comment"]
    by_friend = {row[1]: row for row in rows}
    assert by_friend[str(hanako)][-3:] == ["Weekly", "Coffee; Tea", "Lovely staff"]
    assert by_friend[str(hanako)][2] == "U" + "a" * 32
    assert by_friend[str(jiro)][3].startswith("'=")  # a formula-looking name is defused
    assert by_friend[str(jiro)][4] == "in_progress"
    with session_scope(get_engine(app)) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "survey.results_exported")).one()
    assert entry.actor == "staff:admin@example.com" and '"responses": 3' in entry.after


@pytest.mark.parametrize(
    "role,status", [("admin", 200), ("marketer", 200), ("analyst", 200), ("editor", 403), ("staff", 403)]
)
def test_who_sees_results(app, answered, role, status):
    survey_id, _ = answered
    client = signed_in_client(app, role, locale="en")
    for path in (f"/surveys/{survey_id}/results", f"/surveys/{survey_id}/results.csv", "/surveys/results"):
        response = client.get(path)
        response.get_data()  # read the streamed CSV to the end, which returns its database connection
        assert response.status_code == status


def test_a_new_version_keeps_old_answers_readable(app, answered):
    survey_id, (hanako, _taro, _jiro) = answered
    with session_scope(get_engine(app)) as session:
        draft = builder.start_revision(session, survey_id=survey_id, actor=EDITOR)
        first = questions.list_questions(session, draft.id)[0]
        questions.update_question(
            session,
            survey_id=survey_id,
            question_id=first.id,
            actor=EDITOR,
            spec=single("How often do you come?", "Often", "Seldom"),
        )
        builder.publish(session, survey_id=survey_id, actor=EDITOR)
    answer(app, hanako, survey_id, "Often", "Coffee", "done", "Again!")
    with session_scope(get_engine(app)) as session:
        versions = results.versions_with_answers(session, survey_id)
        assert [v.number for v in versions] == [2, 1]
        old = results.question_results(session, versions[1].id)
        assert old[0].question.text == "Visit?" and [n for _c, n in old[0].choices] == [2, 1]
        new = results.question_results(session, versions[0].id)
        assert [(c.label, n) for c, n in new[0].choices] == [("Often", 1), ("Seldom", 0)]
        history = results.answers_for_friend(session, hanako)
    assert [[(q.text, given) for q, given in item.answers] for item in history] == [
        [("How often do you come?", ["Often"]), ("Drinks", ["Coffee"]), ("Comment", ["Again!"])],
        [("Visit?", ["Weekly"]), ("Drinks", ["Coffee", "Tea"]), ("Comment", ["Lovely staff"])],
    ]
    rows = list(
        csv.reader(
            io.StringIO(
                signed_in_client(app, "admin", locale="en")
                .get(f"/surveys/{survey_id}/results.csv")
                .get_data(as_text=True)[1:]
            )
        )
    )
    assert rows[0][-4:] == ["How often do you come?", "Drinks", "Comment", "Visit?"]


def test_answers_on_the_friend_page(app, answered):
    survey_id, (hanako, _taro, _jiro) = answered
    html = signed_in_client(app, "staff", locale="en").get(f"/friends/{hanako}").get_data(as_text=True)
    section = html[html.index('id="answers"') : html.index('id="clicks"')]
    assert "Visit survey" in section and "Coffee, Tea" in section and "Lovely staff" in section
    masked = signed_in_client(app, "analyst", locale="en").get(f"/friends/{hanako}").get_data(as_text=True)
    section = masked[masked.index('id="answers"') : masked.index('id="clicks"')]
    assert "Coffee, Tea" in section and "Lovely staff" not in section
