"""A test send from the console: the test friends receive the marked copy, and LINE is called with the database
free (a friend following meanwhile is stored at once)."""

from crm.broadcasts import models
from crm.broadcasts.models import BroadcastStatus
from crm.db import get_engine, session_scope
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import friend_id_of, make_broadcast
from tests.line_probe import FollowDuringLineCalls


def test_a_test_send_pushes_with_the_database_free(app, sim, crm_server):
    user_id = sim.create_user("店長")
    sim.follow(user_id)
    with session_scope(get_engine(app)) as session:
        session.add(models.TestFriend(friend_id=friend_id_of(app, user_id), label="店長"))
    broadcast_id = make_broadcast(
        app,
        [{"type": "text", "text": "{name}さん https://shop.example.jp/a"}],
        status=BroadcastStatus.DRAFT,
        track_links=True,
    )
    client = signed_in_client(app, "marketer", locale="en")
    token = csrf_token(client, f"/broadcasts/{broadcast_id}/preview")
    probe = FollowDuringLineCalls(app, sim).install()
    response = client.post(f"/broadcasts/{broadcast_id}/test", data={"csrf_token": token})
    assert response.status_code == 302
    assert probe.statuses == [200] and probe.stored == [True]
    [entry] = sim.inbox(user_id)
    text = entry["messages"][0]["text"]
    assert text.startswith("[テスト] ") and "/r/" in text
