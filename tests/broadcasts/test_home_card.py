"""The broadcasts' card on the home page: the latest sends newest first with sent, clickers (a rate only from
30 friends sent) and blocks; drafts and scheduled sends left out; shown only to roles that read reports."""

from datetime import timedelta

from crm.broadcasts.models import BroadcastRecipient, BroadcastStatus, RecipientState
from crm.db import get_engine, session_scope
from crm.timeutil import utcnow
from tests.console_helpers import signed_in_client
from tests.factories import make_broadcast

TEXT = [{"type": "text", "text": "セールのお知らせ"}]


def _sent(app, name: str, *, sent: int, hours_ago: int) -> int:
    broadcast_id = make_broadcast(
        app, TEXT, name=name, status=BroadcastStatus.SENT, started_at=utcnow() - timedelta(hours=hours_ago)
    )
    with session_scope(get_engine(app)) as session:
        session.add_all(
            BroadcastRecipient(broadcast_id=broadcast_id, friend_id=n, state=RecipientState.SENT) for n in range(sent)
        )
    return broadcast_id


def test_the_latest_sends_show_newest_first_with_their_figures(app):
    older = _sent(app, "秋のセール", sent=40, hours_ago=48)
    newer = _sent(app, "冬のセール", sent=3, hours_ago=2)
    make_broadcast(app, TEXT, name="下書きの配信", status=BroadcastStatus.DRAFT)
    page = signed_in_client(app, "marketer").get("/").get_data(as_text=True)
    card = page[page.index('id="home-broadcasts"') :]
    assert card.index(f'data-broadcast="{newer}"') < card.index(f'data-broadcast="{older}"')
    assert "下書きの配信" not in card
    rows = {row: card[card.index(f'data-broadcast="{row}"') :].split("</tr>")[0] for row in (older, newer)}
    assert "(0.0%)" in rows[older]  # 40 sent: a rate is shown
    assert "%" not in rows[newer]  # 3 sent: too few for a rate
    assert f"/broadcasts/{newer}/stats" in rows[newer]


def test_store_staff_do_not_see_the_broadcasts_card(app):
    _sent(app, "冬のセール", sent=3, hours_ago=2)
    page = signed_in_client(app, "staff").get("/").get_data(as_text=True)
    assert 'id="home-broadcasts"' not in page and 'id="home-friends"' in page
    empty = signed_in_client(app, "marketer").get("/").get_data(as_text=True)
    assert "冬のセール" in empty


def test_before_the_first_send_the_card_says_so(app):
    make_broadcast(app, TEXT, name="予約中の配信")  # scheduled, not started
    page = signed_in_client(app, "marketer").get("/").get_data(as_text=True)
    card = page[page.index('id="home-broadcasts"') :]
    assert "まだ配信していません。" in card and "予約中の配信" not in card
