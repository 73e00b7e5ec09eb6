"""Survey choices through the engine, end to end: webhook → survey → actions, once per answer; the start_survey
kind; the survey-answered trigger."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm.actions.models import ActionRun, ActionState
from crm.db import get_engine, session_scope
from crm.friends.models import Friend
from crm.triggers import TriggerEvent, subscribe
from surveys.chat_messages import start_data
from tests.actions.helpers import run, runs_of
from tests.factories import make_tag
from tests.surveys.helpers import answers, bot_messages, build_survey, english_friend, single, tag_names, tap

FIRED = []


@subscribe
def _record(session, trigger) -> None:
    FIRED.append(trigger)


@pytest.fixture
def line(sim, crm_server):
    return sim


def test_a_choice_runs_any_kind_once_per_answer_and_the_completion_fires_a_trigger(app, line):
    regular = make_tag(app, "regular")
    follow_up = build_survey(app, single("Follow-up?", "Sure", "No"), title="Follow-up")
    attention = {"type": "mark_attention", "state": "needed"}
    survey_id = build_survey(
        app,
        single(
            "How often?",
            "Weekly",
            "Rarely",
            Weekly={
                "add_tag_id": regular,
                "more_actions": (attention, {"type": "start_survey", "survey_id": follow_up}),
            },
        ),
    )
    user, friend = english_friend(line, app)
    FIRED.clear()
    line.postback(user, start_data(survey_id))
    tap(line, user, "Weekly")

    assert tag_names(app, friend) == {"regular"}
    (answer,) = answers(app, friend)[:1]
    runs = runs_of(app, friend)
    assert [(r.kind, r.state, r.trigger_key, r.source) for r in runs] == [
        ("add_tag", ActionState.DONE, f"survey_answer:{answer.id}", f"survey:{survey_id}"),
        ("mark_attention", ActionState.DONE, f"survey_answer:{answer.id}", f"survey:{survey_id}"),
        ("start_survey", ActionState.DONE, f"survey_answer:{answer.id}", f"survey:{survey_id}"),
    ]
    with session_scope(get_engine(app)) as session:
        assert session.get(Friend, friend).attention == "needed"
    texts = [message.get("text", "") for message in bot_messages(line, user)]
    assert any(text.startswith("(1/1) Follow-up?") for text in texts)  # the started survey's first question
    completed = [t for t in FIRED if t.event == TriggerEvent.SURVEY_ANSWERED]
    assert [(t.friend_id, t.ref_id) for t in completed] == [(friend, survey_id)]
    assert completed[0].key.startswith("survey_response:")

    assert line.postback(user, start_data(follow_up))["status"] == 200  # resumes it: its question comes last
    tap(line, user, "Sure")  # the follow-up survey completes too
    assert [t.ref_id for t in FIRED if t.event == TriggerEvent.SURVEY_ANSWERED] == [survey_id, follow_up]
    with session_scope(get_engine(app)) as session:  # the repeat of an answer's trigger runs nothing again
        assert len(list(session.exec(select(ActionRun).where(ActionRun.friend_id == friend)))) == 3


def test_start_survey_skips_an_unpublished_survey_and_a_blocked_friend(app, line):
    draft = build_survey(app, single("Q", "A", "B"), publish=False)
    published = build_survey(app, single("Q", "A", "B"), title="Open")
    user, friend = english_friend(line, app)
    assert run(app, friend, [{"type": "start_survey", "survey_id": draft}])[0][1] == ActionState.SKIPPED
    assert line.unfollow(user)["status"] == 200
    outcome = run(app, friend, [{"type": "start_survey", "survey_id": published}], trigger_key="t:2")
    assert outcome[0][1] == ActionState.SKIPPED


def test_start_survey_does_not_interrupt_a_survey_under_way(app, line):
    follow_up = build_survey(app, single("Follow-up?", "Sure", "No"), title="Follow-up")
    start = {"type": "start_survey", "survey_id": follow_up}
    survey_id = build_survey(
        app, single("First?", "Yes", "No", Yes={"more_actions": (start,)}), single("Second?", "A", "B")
    )
    user, friend = english_friend(line, app)
    line.postback(user, start_data(survey_id))
    tap(line, user, "Yes")  # not the last question: the survey goes on
    assert [(r.kind, r.state) for r in runs_of(app, friend)] == [("start_survey", ActionState.SKIPPED)]
    texts = [message.get("text", "") for message in bot_messages(line, user)]
    assert texts[-1].startswith("(2/2) Second?")
