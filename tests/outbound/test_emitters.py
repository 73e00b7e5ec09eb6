"""Each event type is emitted by the change that causes it: follow and block from LINE's webhook, survey answers
in the chat and the web form, clicks from the worker (the redirect does no extra work)."""

from datetime import timedelta

from sqlmodel import select

from crm.db import session_scope
from crm.friends.models import Friend
from crm.outbound.jobs import deliver_webhooks, link_click_events
from crm.timeutil import utcnow
from crm.tracking import clicks as link_clicks
from crm.tracking import links as tracked_links
from surveys import answers, responses, web_answers
from surveys.models import SurveyChoice, SurveyQuestion
from tests.factories import make_friend
from tests.outbound.helpers import add_endpoint, deliveries, events_of
from tests.signing import event, post_signed, webhook_body
from tests.surveys.helpers import build_survey, single

USER = "U" + "e" * 32


def test_follow_and_block_from_line_become_events(app, engine, client, receiver):
    add_endpoint(engine, receiver.url, ["friend.followed", "friend.blocked"])
    follow = event("follow", USER, replyToken="r" * 32, follow={"isUnblocked": False}, timestamp=1_700_000_000_000)
    assert post_signed(client, webhook_body(follow)).status_code == 200
    assert post_signed(client, webhook_body(follow)).status_code == 200  # LINE's redelivery: no second event
    assert post_signed(client, webhook_body(event("unfollow", USER, timestamp=1_700_000_100_000))).status_code == 200
    (followed,) = events_of(engine, "friend.followed")
    (blocked,) = events_of(engine, "friend.blocked")
    with session_scope(engine) as session:
        friend_id = session.exec(select(Friend.id).where(Friend.line_user_id == USER)).one()
    assert followed["data"] == {
        "friend": {"id": friend_id, "line_user_id": USER},
        "followed_at": "2023-11-14T22:13:20+00:00",
    }
    assert blocked["data"]["friend"]["id"] == friend_id
    assert deliver_webhooks(engine, allow_private=True) == 2 and len(receiver.calls) == 2


def test_webhook_from_line_writes_nothing_when_nobody_subscribes(app, engine, client, receiver):
    add_endpoint(engine, receiver.url, ["tag.added"])
    follow = event("follow", USER, replyToken="r" * 32, follow={"isUnblocked": False})
    assert post_signed(client, webhook_body(follow)).status_code == 200
    assert deliveries(engine) == []


def _first_question(engine, survey_id):
    """The question and first choice of the survey's latest (published) version."""
    from surveys.models import SurveyVersion

    with session_scope(engine) as session:
        question = session.exec(
            select(SurveyQuestion)
            .join(SurveyVersion, SurveyVersion.id == SurveyQuestion.version_id)
            .where(SurveyVersion.survey_id == survey_id)
            .order_by(SurveyQuestion.id.desc())
        ).first()
        choice = session.exec(
            select(SurveyChoice).where(SurveyChoice.question_id == question.id).order_by(SurveyChoice.id)
        ).first()
        return question.id, choice.id


def test_a_finished_survey_is_an_event_in_the_chat_and_the_web_form(app, engine, receiver):
    add_endpoint(engine, receiver.url, ["survey.answered"])
    survey_id = build_survey(app, single("Visit again?", "Yes", "No"), allow_repeat=True)
    question_id, choice_id = _first_question(engine, survey_id)
    friend_id, now = make_friend(app, line_user_id=USER), utcnow()
    with session_scope(engine) as session:
        turn = responses.start(session, survey_id=survey_id, friend_id=friend_id, at=now)
        assert events_of(engine, "survey.answered") == []  # started, not finished
        answers.answer_choice(
            session,
            friend_id=friend_id,
            response_id=turn.response.id,
            question_id=question_id,
            choice_id=choice_id,
            at=now,
        )
    (chat,) = events_of(engine, "survey.answered")
    assert chat["data"]["channel"] == "chat" and chat["data"]["survey"]["id"] == survey_id
    assert chat["data"]["answers"] == [{"question_id": question_id, "choice_id": choice_id, "text": None}]
    with session_scope(engine) as session:
        web_answers.submit(
            session,
            survey_id=survey_id,
            friend_id=friend_id,
            values={question_id: [str(choice_id)]},
            submission_key="k" * 32,
            at=now,
        )
        web_answers.submit(
            session,
            survey_id=survey_id,
            friend_id=friend_id,
            values={question_id: [str(choice_id)]},
            submission_key="k" * 32,
            at=now,
        )  # the same submission again: no new event
    web = events_of(engine, "survey.answered")[1:]
    assert [doc["data"]["channel"] for doc in web] == ["web"]
    assert web[0]["data"]["friend"] == {"id": friend_id, "line_user_id": USER}


def _click(app, engine, friend_id: int, *, at):
    with session_scope(engine) as session:
        link = tracked_links.create_link(session, destination="https://shop.example/sale", source="test")
        token = tracked_links.token_for(session, link_id=link.id, friend_id=friend_id)
    with engine.connect() as connection:
        target = link_clicks.find_target(connection, token)
        link_clicks.record_click(connection, target=target, user_agent="test", now=at)
        connection.commit()
    return link.id


def test_clicks_become_events_in_the_worker_only_for_subscribers(app, engine, receiver):
    friend_id, now = make_friend(app, line_user_id=USER), utcnow()
    _click(app, engine, friend_id, at=now - timedelta(minutes=1))
    assert link_click_events(engine, now=now) == 0  # nobody subscribes: the cursor just moves on
    add_endpoint(engine, receiver.url, ["link.clicked"])
    assert link_click_events(engine, now=now) == 0 and deliveries(engine) == []  # old clicks are not replayed
    link_id = _click(app, engine, friend_id, at=now)
    assert link_click_events(engine, now=now) == 0  # too fresh: concurrent clicks may still commit before it
    assert link_click_events(engine, now=now + timedelta(seconds=10)) == 1
    assert link_click_events(engine, now=now + timedelta(seconds=20)) == 0
    (clicked,) = events_of(engine, "link.clicked")
    assert clicked["data"]["link"] == {"id": link_id, "destination": "https://shop.example/sale"}
    assert clicked["data"]["friend"] == {"id": friend_id, "line_user_id": USER}


def test_clicks_after_the_first_subscription_are_sent_though_the_worker_never_read_clicks_before(app, engine, receiver):
    friend_id, now = make_friend(app, line_user_id=USER), utcnow()
    _click(app, engine, friend_id, at=now - timedelta(minutes=1))  # before anyone subscribed: never sent
    add_endpoint(engine, receiver.url, ["link.clicked"])  # a fresh database: the worker has no click cursor yet
    link_id = _click(app, engine, friend_id, at=now)
    assert link_click_events(engine, now=now + timedelta(seconds=10)) == 1
    assert [doc["data"]["link"]["id"] for doc in events_of(engine, "link.clicked")] == [link_id]


def test_the_click_cursor_never_passes_a_click_stamped_later_than_the_next_one(app, engine, receiver):
    friend_id, now = make_friend(app, line_user_id=USER), utcnow()
    add_endpoint(engine, receiver.url, ["link.clicked"])
    link_click_events(engine, now=now)
    # The lower id carries the later time: its process stamped it last, or its host's clock is ahead.
    first = _click(app, engine, friend_id, at=now)
    second = _click(app, engine, friend_id, at=now - timedelta(minutes=1))
    assert link_click_events(engine, now=now) == 0  # the first click is not settled: wait for it
    assert link_click_events(engine, now=now + timedelta(seconds=10)) == 2
    assert [doc["data"]["link"]["id"] for doc in events_of(engine, "link.clicked")] == [first, second]
