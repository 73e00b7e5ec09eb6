"""The send_template action kind: validated, rendered for the friend (tracked links, source "template"),
queued once per trigger and position, skipped for a friend who does not follow; it reaches the simulator."""

import re

import pytest
from sqlmodel import select

from crm.actions.registry import ActionContext, ActionError, kind_of
from crm.db import get_engine, session_scope
from crm.friends.models import Friend, FriendStatus
from crm.sending.models import OutgoingReply
from crm.tracking.models import TrackedLink
from tests.factories import friend_id_of, make_friend, make_template
from tests.surveys.helpers import replies_settled

BUTTONS = {
    "type": "template",
    "altText": "{name}さんへのご案内",
    "template": {
        "type": "buttons",
        "text": "{name}さん、ご予約はこちら",
        "actions": [{"type": "uri", "label": "予約する", "uri": "https://shop.example.jp/r"}],
    },
}


def _run(app, friend_id, params, *, trigger_key="scenario_send:1", position=0, reply_token=None, variant=None):
    kind = kind_of("send_template")
    with app.app_context(), session_scope(get_engine(app)) as session:
        context = ActionContext(
            session=session,
            friend_id=friend_id,
            params=params,
            trigger_key=trigger_key,
            source="scenario:4",
            reply_token=reply_token,
            extra={"position": position, "scenario_variant_id": variant},
        )
        ran = kind.run(context)
    replies_settled()  # the sender thread is done before the test's database goes away
    return ran


def _replies(app):
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(OutgoingReply).order_by(OutgoingReply.id)))


def test_validate_and_describe(app):
    kind = kind_of("send_template")
    template_id = make_template(app, name="ご予約")
    archived_id = make_template(app, name="古い案内", archived=True)
    with app.test_request_context(), session_scope(get_engine(app)) as session:
        assert kind.validate(session, {"template_id": str(template_id)}) == {"template_id": template_id}
        for params in ({}, {"template_id": 99999}, {"template_id": "x"}, {"template_id": archived_id}):
            with pytest.raises(ActionError) as caught:
                kind.validate(session, params)
            assert caught.value.field == "template_id"
        assert kind.describe(session, {"template_id": template_id}) == "テンプレート「ご予約」を送る"


def test_a_repeated_trigger_queues_once_and_positions_differ(app, sim):
    friend_id = make_friend(app, display_name="さくら")
    template_id = make_template(app, [BUTTONS])
    assert _run(app, friend_id, {"template_id": template_id}, variant=7) is True
    assert _run(app, friend_id, {"template_id": template_id}, variant=7) is False  # the same trigger again
    assert _run(app, friend_id, {"template_id": template_id}, position=1) is True
    assert _run(app, friend_id, {"template_id": template_id}, trigger_key="scenario_send:2") is True
    replies = _replies(app)
    assert len(replies) == 3 and len({reply.retry_key for reply in replies}) == 3
    assert {reply.source for reply in replies} == {"scenario:4"}
    with session_scope(get_engine(app)) as session:
        links = session.exec(select(TrackedLink)).all()
    assert {(link.source, link.scenario_variant_id) for link in links} == {("template", 7), ("template", None)}


def test_skipped_for_a_friend_who_does_not_follow_or_a_template_gone(app, sim):
    blocked = make_friend(app, n=1, status=FriendStatus.BLOCKED)
    following = make_friend(app, n=2)
    template_id = make_template(app)
    archived_id = make_template(app, archived=True)
    assert _run(app, blocked, {"template_id": template_id}) is False
    assert _run(app, following, {"template_id": archived_id}) is False
    assert _run(app, following, {"template_id": 99999}) is False
    assert _replies(app) == []


def test_the_friend_receives_the_template_rendered_for_them(app, sim, crm_server):
    user_id = sim.create_user("さくら")
    assert sim.follow(user_id)["status"] == 200
    replies_settled()
    friend_id = friend_id_of(app, user_id)
    with session_scope(get_engine(app)) as session:
        session.get(Friend, friend_id).display_name = "さくら"
    template_id = make_template(app, [{"type": "text", "text": "ようこそ"}, BUTTONS])
    assert _run(app, friend_id, {"template_id": template_id}, trigger_key="follow:abc")
    replies_settled()
    messages = [message for entry in sim.inbox(user_id) for message in entry["messages"]]
    template = messages[-1]
    assert messages[-2] == {"type": "text", "text": "ようこそ"}
    assert template["altText"] == "さくらさんへのご案内"
    assert template["template"]["text"] == "さくらさん、ご予約はこちら"
    assert re.fullmatch(
        rf"{re.escape(crm_server.url)}/r/[A-Za-z0-9_-]{{22}}|https?://.+/r/[A-Za-z0-9_-]{{22}}",
        template["template"]["actions"][0]["uri"],
    )
