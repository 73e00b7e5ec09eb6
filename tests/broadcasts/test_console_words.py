"""Broadcast pages in the staff member's words: a copy's name, the goal by its tag's name or link."""

import json
from datetime import timedelta

from sqlmodel import select

from crm.broadcasts import models
from crm.broadcasts.models import Broadcast, RecipientState
from crm.broadcasts.models import BroadcastStatus as S
from crm.broadcasts.options import NAME_MAX
from crm.tags.models import FriendTag
from tests.broadcasts.helpers import T0, add_broadcast, add_friends, add_recipients, db
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import make_friend, make_tag


def _copy(app, name: str, locale: str) -> str:
    with db(app) as session:
        source_id = add_broadcast(session, status=S.CANCELLED, name=name).id
    client = signed_in_client(app, "marketer", locale=locale)
    token = csrf_token(client, "/broadcasts")
    assert client.post(f"/broadcasts/{source_id}/copy", data={"csrf_token": token}).status_code == 302
    with db(app) as session:
        return session.exec(select(Broadcast.name).where(Broadcast.id != source_id)).one()


def test_a_copy_is_named_in_japanese_for_japanese_staff(app):
    assert _copy(app, "秋のセール", "ja") == "秋のセール のコピー"


def test_a_copy_of_a_long_name_keeps_the_whole_suffix_within_the_limit(app):
    name = _copy(app, "あ" * NAME_MAX, "ja")
    assert len(name) == NAME_MAX and name.endswith(" のコピー")


def test_the_goal_is_shown_by_the_tags_name_not_its_number(app):
    tag_id = make_tag(app, "購入済み")
    with db(app) as session:
        broadcast_id = add_broadcast(
            session, status=S.SENT, started_at=T0, goal=json.dumps({"kind": "tag", "id": tag_id, "days": 7})
        ).id
    client = signed_in_client(app, "marketer", locale="ja")
    for path in (f"/broadcasts/{broadcast_id}", f"/broadcasts/{broadcast_id}/stats"):
        page = client.get(path).get_data(as_text=True)
        assert "タグ「購入済み」が付く" in page, path
        assert f"#{tag_id}" not in page, path


def test_a_goal_whose_tag_was_deleted_says_so(app):
    with db(app) as session:
        broadcast_id = add_broadcast(session, status=S.SENT, goal=json.dumps({"kind": "tag", "id": 987, "days": 3})).id
    page = signed_in_client(app, "marketer", locale="ja").get(f"/broadcasts/{broadcast_id}").get_data(as_text=True)
    assert "タグ「（削除されたタグ）」が付く" in page


def test_a_draft_offers_discard_not_cancel(app):
    with db(app) as session:
        draft_id = add_broadcast(session, status=S.DRAFT).id
        scheduled_id = add_broadcast(session, status=S.SCHEDULED).id
    client = signed_in_client(app, "marketer", locale="ja")
    draft_page = client.get(f"/broadcasts/{draft_id}").get_data(as_text=True)
    assert "下書きを破棄" in draft_page and "配信を中止" not in draft_page
    assert "配信を中止" in client.get(f"/broadcasts/{scheduled_id}").get_data(as_text=True)


def test_a_test_friend_is_found_by_name_and_added_without_knowing_its_number(app):
    hanako = make_friend(app, display_name="山田花子")
    make_friend(app, n=2, display_name="佐藤健太")
    client = signed_in_client(app, "marketer", locale="ja")
    page = client.get("/broadcasts/test-friends?q=花子").get_data(as_text=True)
    candidates = page[page.index('id="test-friend-candidates"') :]
    assert f'data-friend="{hanako}"' in candidates and "佐藤健太" not in candidates
    token = csrf_token(client, "/broadcasts/test-friends")
    response = client.post(
        "/broadcasts/test-friends", data={"csrf_token": token, "friend_id": hanako, "label": "山田花子"}
    )
    assert response.status_code == 302
    with db(app) as session:
        assert session.get(models.TestFriend, hanako).label == "山田花子"
    again = client.get("/broadcasts/test-friends?q=花子").get_data(as_text=True)
    assert "一致する友だちはいません" in again, "a friend already on the list is not offered again"


def test_a_friend_is_made_a_test_recipient_from_their_page_and_back(app):
    friend_id = make_friend(app, display_name="店長")
    client = signed_in_client(app, "marketer", locale="ja")
    token = csrf_token(client, f"/friends/{friend_id}")
    added = client.post(
        "/broadcasts/test-friends",
        data={"csrf_token": token, "friend_id": friend_id, "label": "店長", "back": "friend"},
    )
    assert added.status_code == 302 and added.headers["Location"].endswith(f"/friends/{friend_id}")
    page = client.get(f"/friends/{friend_id}").get_data(as_text=True)
    assert "テスト配信を受け取ります" in page
    removed = client.post(f"/broadcasts/test-friends/{friend_id}/remove", data={"csrf_token": token, "back": "friend"})
    assert removed.headers["Location"].endswith(f"/friends/{friend_id}")
    with db(app) as session:
        assert session.get(models.TestFriend, friend_id) is None


def _goal_page(app, sent: int, reached_sent: int, held: int, reached_held: int) -> str:
    tag_id = make_tag(app, "購入済み")
    with db(app) as session:
        broadcast = add_broadcast(
            session, status=S.SENT, started_at=T0, goal=json.dumps({"kind": "tag", "id": tag_id, "days": 7})
        )
        sent_ids, held_ids = add_friends(session, sent), add_friends(session, held, prefix="H")
        add_recipients(session, broadcast.id, sent_ids, RecipientState.SENT, sent_at=T0)
        add_recipients(session, broadcast.id, held_ids, RecipientState.HELD_OUT)
        for friend_id in sent_ids[:reached_sent] + held_ids[:reached_held]:
            session.add(FriendTag(friend_id=friend_id, tag_id=tag_id, added_at=T0 + timedelta(days=1), added_by="t"))
        broadcast_id = broadcast.id
    html = (
        signed_in_client(app, "marketer", locale="ja").get(f"/broadcasts/{broadcast_id}/stats").get_data(as_text=True)
    )
    return html[html.index('id="goal"') :]


def test_the_goal_against_the_control_group_has_its_interval_and_the_friends_it_rests_on(app):
    section = _goal_page(app, sent=60, reached_sent=30, held=40, reached_held=8)
    # 50.0 % against 20.0 %: 30 points; Newcombe's interval from the two Wilson intervals (30/60: 37.7–62.3 %,
    # 8/40: 10.5–34.8 %) is +10.8 to +45.5.
    assert "配信グループ 50.0%（対照群 20.0%）：差 +30.0ポイント（95%区間 +10.8〜+45.5）、100人の結果" in section


def test_tiny_groups_get_no_bare_percentage(app):
    section = _goal_page(app, sent=10, reached_sent=5, held=4, reached_held=1)
    assert "まだ人数が少なく比較できません" in section and "%" not in section.split("</table>")[0]
