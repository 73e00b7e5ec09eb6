"""The official SDK (linebot.v3.messaging) works against the simulator as it would against LINE."""

from __future__ import annotations

import uuid

import pytest
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    MulticastRequest,
    PostbackAction,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuArea,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
    TextMessage,
)
from linebot.v3.messaging.exceptions import NotFoundException, UnauthorizedException

from tests.simulator.images import png


def test_push_with_http_info_and_retry_key(messaging, control, friend):
    key = str(uuid.uuid4())
    request = PushMessageRequest(to=friend, messages=[TextMessage(text="SDK push")])
    response = messaging.push_message_with_http_info(request, x_line_retry_key=key)
    assert response.status_code == 200
    assert len(response.data.sent_messages) == 1
    request_id = response.headers["x-line-request-id"]
    with pytest.raises(ApiException) as caught:
        messaging.push_message(request, x_line_retry_key=key)
    assert caught.value.status == 409
    assert caught.value.headers["x-line-accepted-request-id"] == request_id
    [entry] = control.inbox(friend)
    assert entry["messages"] == [{"type": "text", "text": "SDK push"}] and entry["retryKey"] == key


def test_multicast_and_reply(messaging, control, friend):
    messaging.multicast(MulticastRequest(to=[friend], messages=[TextMessage(text="many")]))
    token = control.send_text(friend, "hi")["event"]["replyToken"]
    messaging.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="re")]))
    assert [entry["api"] for entry in control.inbox(friend)] == ["multicast", "reply"]


def test_get_profile_and_404(messaging, control, friend):
    profile = messaging.get_profile(friend)
    assert (profile.user_id, profile.display_name, profile.language) == (friend, "Hanako", "ja")
    control.unfollow(friend)
    with pytest.raises(NotFoundException):
        messaging.get_profile(friend)


def test_quota_and_followers(messaging, control, friend):
    control.set_quota(500)
    assert messaging.get_message_quota().value == 500
    assert messaging.get_message_quota_consumption().total_usage == 0
    assert messaging.get_followers(limit=10).user_ids == [friend]


def test_rich_menu_lifecycle(messaging, blob, control, friend):
    request = RichMenuRequest(
        size=RichMenuSize(width=800, height=540),
        selected=False,
        name="SDK",
        chat_bar_text="Menu",
        areas=[
            RichMenuArea(
                bounds=RichMenuBounds(x=0, y=0, width=800, height=540), action=PostbackAction(label="Go", data="go=1")
            )
        ],
    )
    menu_id = messaging.create_rich_menu(request).rich_menu_id
    blob.set_rich_menu_image(menu_id, body=png(800, 540), _headers={"Content-Type": "image/png"})
    messaging.link_rich_menu_id_to_user(friend, menu_id)
    assert messaging.get_rich_menu_id_of_user(friend).rich_menu_id == menu_id
    assert messaging.get_rich_menu(menu_id).chat_bar_text == "Menu"
    assert control.tap_rich_menu(friend, 0)["event"]["postback"]["data"] == "go=1"
    with pytest.raises(ApiException) as caught:
        blob.set_rich_menu_image(menu_id, body=png(800, 540), _headers={"Content-Type": "image/png"})
    assert caught.value.status == 400


def test_wrong_token_raises_unauthorized(sim_url, friend):
    with ApiClient(Configuration(host=sim_url, access_token="nope")) as client:
        with pytest.raises(UnauthorizedException):
            MessagingApi(client).get_profile(friend)
