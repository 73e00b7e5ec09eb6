"""Helpers for survey tests: build surveys through the services, read answers back, drive the simulator."""

from __future__ import annotations

import threading

from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends.models import Friend
from crm.staff.audit import Actor
from crm.tags.models import FriendTag, Tag
from surveys import builder, questions
from surveys.builder import SurveySettings
from surveys.models import SurveyAnswer, SurveyResponse
from surveys.questions import ChoiceSpec, QuestionSpec
from tests.factories import friend_id_of

EDITOR = Actor.system("test")


def single(text: str, *labels, required: bool = True, **actions_by_label) -> QuestionSpec:
    """A single-choice question; actions_by_label maps a label to ChoiceSpec keyword arguments."""
    return QuestionSpec(
        kind="single",
        text=text,
        required=required,
        choices=tuple(ChoiceSpec(label, **actions_by_label.get(label, {})) for label in labels),
    )


def multiple(text: str, *labels, required: bool = True, **actions_by_label) -> QuestionSpec:
    return QuestionSpec(
        kind="multiple",
        text=text,
        required=required,
        choices=tuple(ChoiceSpec(label, **actions_by_label.get(label, {})) for label in labels),
    )


def free(text: str, required: bool = True, save_field_id: int | None = None) -> QuestionSpec:
    return QuestionSpec(kind="text", text=text, required=required, save_field_id=save_field_id)


def build_survey(app, *specs: QuestionSpec, publish: bool = True, **settings) -> int:
    """Create a survey with these questions (published unless told otherwise); return its id."""
    settings.setdefault("title", "Visit survey")
    with session_scope(get_engine(app)) as session:
        survey = builder.create_survey(session, settings=SurveySettings(**settings), actor=EDITOR)
        for spec in specs:
            questions.add_question(session, survey_id=survey.id, spec=spec, actor=EDITOR)
        if publish:
            builder.publish(session, survey_id=survey.id, actor=EDITOR)
        return survey.id


def tag_names(app, friend_id: int) -> set[str]:
    with session_scope(get_engine(app)) as session:
        rows = session.exec(
            select(Tag.name).join(FriendTag, FriendTag.tag_id == Tag.id).where(FriendTag.friend_id == friend_id)
        )
        return set(rows)


def responses(app, friend_id: int) -> list[SurveyResponse]:
    with session_scope(get_engine(app)) as session:
        return list(
            session.exec(
                select(SurveyResponse).where(SurveyResponse.friend_id == friend_id).order_by(SurveyResponse.id)
            )
        )


def answers(app, friend_id: int) -> list[SurveyAnswer]:
    with session_scope(get_engine(app)) as session:
        return list(
            session.exec(select(SurveyAnswer).where(SurveyAnswer.friend_id == friend_id).order_by(SurveyAnswer.id))
        )


def replies_settled(timeout: float = 10.0) -> None:
    """Wait until the CRM's reply senders have sent what the last webhooks queued (they run after /callback)."""
    for thread in threading.enumerate():
        if thread.name == "reply-sender":
            thread.join(timeout)
            assert not thread.is_alive(), "the reply sender is still busy"


def bot_messages(sim, user_id: str) -> list[dict]:
    """Every message the bot delivered to the user, oldest first (once the queued replies went out)."""
    replies_settled()
    return [message for entry in sim.inbox(user_id) for message in entry["messages"]]


def last_message(sim, user_id: str) -> dict:
    return bot_messages(sim, user_id)[-1]


def quick_replies(message: dict) -> dict[str, dict]:
    """The quick-reply actions of a message by label."""
    return {item["action"]["label"]: item["action"] for item in message.get("quickReply", {}).get("items", [])}


def tap(sim, user_id: str, label: str) -> dict:
    """Tap the quick-reply button with this label on the bot's last message, as a person would."""
    buttons = quick_replies(last_message(sim, user_id))
    assert label in buttons, f"no button {label!r} in {list(buttons)}"
    result = sim.tap_action(user_id, buttons[label])
    assert result["status"] == 200, result
    return result


def english_friend(sim, app, name: str = "Hanako") -> tuple[str, int]:
    """A simulated user who follows the account; the CRM stores them through the real webhook.

    Their LINE language is English (as a profile fetch would record), so the bot's own words are stable
    whatever the Japanese catalogue says.
    """
    user_id = sim.create_user(name, language="en")
    assert sim.follow(user_id)["status"] == 200
    friend_id = friend_id_of(app, user_id)
    with session_scope(get_engine(app)) as session:
        session.get(Friend, friend_id).language = "en"
    return user_id, friend_id


def tap_op(sim, user_id: str, op: str) -> dict:
    """Tap the Done (d), Skip (k) or Cancel (c) button of the bot's last message."""
    buttons = [item["action"] for item in last_message(sim, user_id).get("quickReply", {}).get("items", [])]
    [action] = [a for a in buttons if a["data"].startswith(f"sv:{op}:")]
    result = sim.tap_action(user_id, action)
    assert result["status"] == 200, result
    return result
