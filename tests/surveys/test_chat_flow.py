"""The in-chat flow through the LINE simulator, exactly as a person uses it: tap, read, tap, type."""

import http.client
import re
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.fields import service as fields
from crm.staff.models import AuditEntry
from crm.tags import service as tags
from crm.tracking.models import LinkClick, TrackedLink
from surveys.chat_messages import start_data
from tests.conftest import LiveServer
from tests.factories import make_tag
from tests.surveys.helpers import (
    EDITOR,
    answers,
    bot_messages,
    build_survey,
    english_friend,
    free,
    last_message,
    multiple,
    quick_replies,
    replies_settled,
    responses,
    single,
    tag_names,
    tap,
    tap_op,
)


@pytest.fixture
def line(sim, crm_server):
    """The simulator, posting its webhooks to the CRM served over HTTP."""
    return sim


def test_start_answer_type_and_finish(app, line):
    regular = make_tag(app, "regular")
    survey_id = build_survey(
        app,
        single("How often do you visit?", "Weekly", "Rarely", Weekly={"add_tag_id": regular}),
        free("Anything to tell us?"),
        intro="Two quick questions.",
        completion_message="Thanks, see you soon!",
    )
    user, friend = english_friend(line, app)

    assert line.postback(user, start_data(survey_id))["status"] == 200
    intro, question = bot_messages(line, user)
    assert intro["text"] == "Two quick questions."
    assert question["text"].startswith("(1/2) How often do you visit?")
    assert list(quick_replies(question)) == ["Weekly", "Rarely", "Cancel"]

    tap(line, user, "Weekly")
    assert last_message(line, user)["text"].startswith("(2/2) Anything to tell us?")
    assert tag_names(app, friend) == {"regular"}

    assert line.send_text(user, "The coffee is great")["status"] == 200
    assert last_message(line, user)["text"] == "Thanks, see you soon!"

    [response] = responses(app, friend)
    assert (response.status, response.channel, response.current_question_id) == ("completed", "chat", None)
    stored = answers(app, friend)
    assert [a.text for a in stored] == [None, "The coffee is great"]
    assert stored[0].choice_id is not None
    timeline = [entry for entry in line.timeline(user) if entry["from"] == "user"]
    assert [entry["kind"] for entry in timeline] == ["follow", "postback", "postback", "message"]
    with session_scope(get_engine(app)) as session:
        tagged = session.exec(select(AuditEntry).where(AuditEntry.action == "friend.tag_added")).one()
    assert tagged.actor == f"survey:{survey_id}"


def test_multiple_choice_toggles_then_done_applies_the_picked_actions(app, line):
    coffee, tea = make_tag(app, "likes-coffee"), make_tag(app, "likes-tea")
    survey_id = build_survey(
        app,
        multiple(
            "What do you drink?", "Coffee", "Tea", "Juice", Coffee={"add_tag_id": coffee}, Tea={"add_tag_id": tea}
        ),
    )
    user, friend = english_friend(line, app)
    line.postback(user, start_data(survey_id))
    assert "Selected: none" in last_message(line, user)["text"]

    tap(line, user, "Coffee")
    tap(line, user, "Tea")
    message = last_message(line, user)
    assert "Selected: Coffee, Tea" in message["text"]
    assert list(quick_replies(message)) == ["✓Coffee", "✓Tea", "Juice", "Done", "Cancel"]
    tap(line, user, "✓Tea")  # untick
    assert "Selected: Coffee" in last_message(line, user)["text"]
    assert tag_names(app, friend) == set()  # nothing applies before Done

    tap_op(line, user, "d")
    assert last_message(line, user)["text"] == "Thank you for your answers!"
    assert tag_names(app, friend) == {"likes-coffee"}
    assert len(answers(app, friend)) == 1
    assert responses(app, friend)[0].status == "completed"


def test_done_with_nothing_picked_asks_again(app, line):
    survey_id = build_survey(app, multiple("Pick any", "A", "B"))
    user, friend = english_friend(line, app)
    line.postback(user, start_data(survey_id))
    tap_op(line, user, "d")
    error, question = bot_messages(line, user)[-2:]
    assert error["text"] == "Choose at least one, then tap Done."
    assert question["text"].startswith("(1/1) Pick any")
    assert responses(app, friend)[0].status == "in_progress"


def test_optional_questions_can_be_skipped(app, line):
    survey_id = build_survey(app, single("Favourite?", "A", "B", required=False), free("Comment?", required=False))
    user, friend = english_friend(line, app)
    line.postback(user, start_data(survey_id))
    assert list(quick_replies(last_message(line, user))) == ["A", "B", "Skip", "Cancel"]
    tap_op(line, user, "k")
    tap_op(line, user, "k")
    assert last_message(line, user)["text"] == "Thank you for your answers!"
    assert answers(app, friend) == []
    assert responses(app, friend)[0].status == "completed"


def test_cancel_by_keyword_then_start_again(app, line):
    survey_id = build_survey(app, single("Q1", "Yes", "No"), free("Q2"))
    user, friend = english_friend(line, app)
    line.postback(user, start_data(survey_id))
    tap(line, user, "Yes")
    line.send_text(user, "cancel")
    assert "You cancelled “Visit survey”" in last_message(line, user)["text"]
    assert responses(app, friend)[0].status == "cancelled"

    line.send_text(user, "hello")  # an ordinary message afterwards is not taken as an answer
    assert "You cancelled" in last_message(line, user)["text"]
    assert [a.text for a in answers(app, friend)] == [None]

    line.postback(user, start_data(survey_id))
    assert last_message(line, user)["text"].startswith("(1/2) Q1")
    assert [r.status for r in responses(app, friend)] == ["cancelled", "in_progress"]


def test_cancel_button(app, line):
    survey_id = build_survey(app, single("Q1", "Yes", "No"))
    user, friend = english_friend(line, app)
    line.postback(user, start_data(survey_id))
    tap_op(line, user, "c")
    assert "You cancelled" in last_message(line, user)["text"]
    assert responses(app, friend)[0].status == "cancelled"


def test_resume_an_unfinished_survey(app, line):
    survey_id = build_survey(app, single("Q1", "Yes", "No"), single("Q2", "Red", "Blue"), intro="Welcome")
    user, friend = english_friend(line, app)
    line.postback(user, start_data(survey_id))
    tap(line, user, "Yes")
    line.send_text(user, "sorry, what was that?")  # not a choice: left for the staff, buttons gone
    assert last_message(line, user)["text"].startswith("(2/2) Q2")

    line.postback(user, start_data(survey_id))  # the rich menu button again
    note, question = bot_messages(line, user)[-2:]
    assert note["text"] == "Let's continue “Visit survey” where you left off."
    assert question["text"].startswith("(2/2) Q2")
    line.send_text(user, "blue")  # typing a choice's label answers too
    assert last_message(line, user)["text"] == "Thank you for your answers!"
    assert len(responses(app, friend)) == 1 and len(answers(app, friend)) == 2


def test_double_tap_and_redelivered_postback_are_harmless(app, line):
    visits = make_tag(app, "visits")
    survey_id = build_survey(app, single("Q1", "Yes", "No", Yes={"add_tag_id": visits}), single("Q2", "A", "B"))
    user, friend = english_friend(line, app)
    line.postback(user, start_data(survey_id))
    first = tap(line, user, "Yes")
    sent_before = len(bot_messages(line, user))
    line.postback(user, first["event"]["postback"]["data"])  # the same button tapped twice
    redelivered = line.redeliver(first["event"]["webhookEventId"])
    assert redelivered["status"] == 200
    assert len(bot_messages(line, user)) == sent_before  # nothing more was sent
    assert len(answers(app, friend)) == 1
    assert tag_names(app, friend) == {"visits"}
    assert last_message(line, user)["text"].startswith("(2/2) Q2")
    tap(line, user, "B")
    assert [a.question_id for a in answers(app, friend)][0] != answers(app, friend)[1].question_id


def test_a_second_start_tap_resumes_instead_of_starting_twice(app, line):
    survey_id = build_survey(app, single("Q1", "Yes", "No"))
    user, friend = english_friend(line, app)
    line.postback(user, start_data(survey_id))
    line.postback(user, start_data(survey_id))
    assert len(responses(app, friend)) == 1


def test_blocking_mid_survey_leaves_nothing_unfinished(app, line):
    survey_id = build_survey(app, single("Q1", "Yes", "No"), free("Q2"))
    user, friend = english_friend(line, app)
    line.postback(user, start_data(survey_id))
    tap(line, user, "Yes")
    assert line.unfollow(user)["status"] == 200
    [response] = responses(app, friend)
    assert (response.status, response.current_question_id) == ("abandoned", None)

    line.follow(user)
    line.send_text(user, "I'm back")  # not captured as the old free-text answer
    assert [a.text for a in answers(app, friend)] == [None]
    line.postback(user, start_data(survey_id))
    assert last_message(line, user)["text"].startswith("(1/2) Q1")


def test_keyword_starts_a_survey(app, line):
    survey_id = build_survey(app, single("Q1", "Yes", "No"), keyword="ＳＵＲＶＥＹ")
    user, friend = english_friend(line, app)
    line.send_text(user, " survey ")
    assert last_message(line, user)["text"].startswith("(1/1) Q1")
    assert responses(app, friend)[0].survey_id == survey_id


def test_answering_again_only_when_allowed(app, line):
    once = build_survey(app, single("Q1", "Yes", "No"), title="Once")
    again = build_survey(app, single("Q1", "Yes", "No"), title="Again", allow_repeat=True)
    user, friend = english_friend(line, app)
    for survey_id in (once, again, once, again):
        line.postback(user, start_data(survey_id))
        if last_message(line, user).get("quickReply"):
            tap(line, user, "Yes")
    assert last_message(line, user)["text"] == "Thank you for your answers!"
    texts = [m["text"] for m in bot_messages(line, user)]
    assert "You have already answered “Once”. Thank you!" in texts
    assert [r.survey_id for r in responses(app, friend)] == [once, again, again]


def test_unpublished_or_closed_surveys_do_not_start(app, line):
    draft = build_survey(app, single("Q1", "Yes", "No"), publish=False)
    user, friend = english_friend(line, app)
    line.postback(user, start_data(draft))
    assert last_message(line, user)["text"] == "This survey is not open for answers at the moment."
    assert responses(app, friend) == []


def test_when_the_reply_token_is_refused_the_question_is_pushed(app, line):
    survey_id = build_survey(app, single("Q1", "Yes", "No"))
    user, friend = english_friend(line, app)
    line.configure(replyTokenTtlSeconds=0)
    line.postback(user, start_data(survey_id))
    replies_settled()
    [entry] = line.inbox(user)
    assert entry["api"] == "push" and entry["retryKey"]
    assert entry["messages"][0]["text"].startswith("(1/1) Q1")


def test_a_line_outage_loses_no_answer(app, line):
    survey_id = build_survey(app, single("Q1", "Yes", "No"), single("Q2", "A", "B"))
    user, friend = english_friend(line, app)
    line.postback(user, start_data(survey_id))
    replies_settled()  # the first question has arrived before LINE goes down
    line.set_fault("*", kind="error", count=None, status=500)
    assert tap(line, user, "Yes")["status"] == 200
    line.clear_faults()
    assert len(answers(app, friend)) == 1
    line.postback(user, start_data(survey_id))
    assert last_message(line, user)["text"].startswith("(2/2) Q2")


def test_free_text_is_saved_to_a_field_and_a_bad_value_is_asked_again(app, line):
    with session_scope(get_engine(app)) as session:
        field_id = fields.create_definition(
            session, spec=fields.FieldSpec(key="birth_month", label="Birth month", field_type="number"), actor=EDITOR
        ).id
    survey_id = build_survey(app, free("Your birth month (1-12)?", save_field_id=field_id))
    user, friend = english_friend(line, app)
    line.postback(user, start_data(survey_id))
    line.send_text(user, "April")
    error, question = bot_messages(line, user)[-2:]
    assert error["text"] == "Birth month: enter a number such as 42, -3 or 1.5."
    assert question["text"].startswith("(1/1) Your birth month")
    assert answers(app, friend) == []
    line.send_text(user, "４")
    assert last_message(line, user)["text"] == "Thank you for your answers!"
    assert [a.text for a in answers(app, friend)] == ["４"]
    with session_scope(get_engine(app)) as session:
        stored = session.get(fields.FieldValue, (friend, field_id))
        assert (stored.value, stored.updated_by) == ("4", f"survey:{survey_id}")


def test_thirteen_choices_fill_the_quick_reply(app, line):
    labels = [f"Store {n}" for n in range(1, 14)]
    survey_id = build_survey(app, single("Favourite store?", *labels))
    user, friend = english_friend(line, app)
    line.postback(user, start_data(survey_id))
    assert list(quick_replies(last_message(line, user))) == labels  # no room left for Cancel: typing it works
    assert line.undelivered(user) == []
    tap(line, user, "Store 13")
    assert len(answers(app, friend)) == 1


def test_choice_actions_remove_tags_and_set_fields(app, line):
    with session_scope(get_engine(app)) as session:
        store = fields.create_definition(
            session,
            spec=fields.FieldSpec(key="store", label="Store", field_type="choice", choices=("Shibuya", "Umeda")),
            actor=EDITOR,
        ).id
    prospect = make_tag(app, "prospect")
    survey_id = build_survey(
        app,
        single(
            "Where?", "Shibuya", "Umeda", Umeda={"remove_tag_id": prospect, "field_id": store, "field_value": "Umeda"}
        ),
    )
    user, friend = english_friend(line, app)
    with session_scope(get_engine(app)) as session:
        tags.add_tag(session, friend_id=friend, tag_id=prospect, actor=EDITOR)
    line.postback(user, start_data(survey_id))
    tap(line, user, "Umeda")
    assert tag_names(app, friend) == set()
    with session_scope(get_engine(app)) as session:
        assert session.get(fields.FieldValue, (friend, store)).value == "Umeda"


def test_simultaneous_taps_store_one_answer(app, line):
    visits = make_tag(app, "visits")
    survey_id = build_survey(app, single("Q1", "Yes", "No", Yes={"add_tag_id": visits}), single("Q2", "A", "B"))
    user, friend = english_friend(line, app)
    line.postback(user, start_data(survey_id))
    action = quick_replies(last_message(line, user))["Yes"]
    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = list(pool.map(lambda _: line.tap_action(user, action)["status"], range(5)))
    assert statuses == [200] * 5
    assert len(answers(app, friend)) == 1
    assert tag_names(app, friend) == {"visits"}
    questions_sent = [m for m in bot_messages(line, user) if m.get("text", "").startswith("(2/2)")]
    assert len(questions_sent) == 1


def test_links_the_author_wrote_reach_each_friend_as_their_own_tracked_links(make_app, sim):
    app = make_app(PUBLIC_BASE_URL="https://crm.example")
    server = LiveServer(app)
    sim.configure(webhookUrl=f"{server.url}/callback")
    try:
        survey_id = build_survey(
            app,
            single("Seen https://shop.example/menu?x=1 ?", "Yes", "No"),
            intro="Our menu: https://shop.example/menu?x=1",
            completion_message="Coupon: https://shop.example/coupon",
        )
        user, friend = english_friend(sim, app)
        sim.postback(user, start_data(survey_id))
        intro, question = bot_messages(sim, user)
        tap(sim, user, "Yes")
        done = last_message(sim, user)["text"]
        pattern = re.compile(r"https://crm\.example/r/([A-Za-z0-9_-]{22})")
        [intro_token] = pattern.findall(intro["text"])
        assert pattern.findall(question["text"]) == [intro_token]  # same link, same friend: same token
        [coupon_token] = pattern.findall(done)
        assert "shop.example" not in intro["text"] + done
        connection = http.client.HTTPConnection(urllib.parse.urlsplit(server.url).netloc, timeout=5)
        connection.request("GET", f"/r/{coupon_token}")  # the redirect itself, not followed
        redirect = connection.getresponse()
        redirect.read()
        connection.close()
        assert (redirect.status, redirect.headers["Location"]) == (302, "https://shop.example/coupon")
        with session_scope(get_engine(app)) as session:
            [click] = session.exec(select(LinkClick)).all()
            link = session.get(TrackedLink, click.link_id)
            assert (click.friend_id, link.destination, link.source) == (
                friend,
                "https://shop.example/coupon",
                f"survey:{survey_id}",
            )
    finally:
        server.stop()
