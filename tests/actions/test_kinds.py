"""The core kinds through the engine: tags, fields and the attention mark, audited and described in Japanese."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm.actions import engine as action_engine
from crm.actions.models import ActionState
from crm.actions.registry import ActionError
from crm.db import get_engine, session_scope
from crm.fields.models import FieldValue
from crm.friends.models import Friend
from crm.staff.models import AuditEntry
from crm.tags.models import FriendTag
from tests.actions.helpers import run
from tests.factories import make_field, make_friend, make_tag


def audit(app, action: str) -> list[AuditEntry]:
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)))


def test_tags_are_added_and_removed_in_the_source_s_name(app):
    friend_id, vip = make_friend(app), make_tag(app, "VIP")
    assert run(app, friend_id, [{"type": "add_tag", "tag_id": vip}], source="survey:3")[0][1] == ActionState.DONE
    with session_scope(get_engine(app)) as session:
        assert session.get(FriendTag, (friend_id, vip)).added_by == "survey:3"
    assert run(app, friend_id, [{"type": "add_tag", "tag_id": vip}], trigger_key="t:2")[0][1] == ActionState.SKIPPED
    assert run(app, friend_id, [{"type": "remove_tag", "tag_id": vip}], trigger_key="t:3")[0][1] == ActionState.DONE
    with session_scope(get_engine(app)) as session:
        assert session.get(FriendTag, (friend_id, vip)) is None
    assert [entry.actor for entry in audit(app, "friend.tag_removed")] == ["test:1"]


def test_fields_are_set_with_validated_values_and_cleared(app):
    friend_id, birthday = make_friend(app), make_field(app, "birthday", field_type="date", label="誕生日")
    with session_scope(get_engine(app)) as session:
        (action,) = action_engine.validate_actions(
            session, [{"type": "set_field", "field_id": birthday, "value": "2000-01-02"}]
        )
        assert action == {"type": "set_field", "field_id": birthday, "value": "2000-01-02"}
        with pytest.raises(ActionError):
            action_engine.validate_actions(session, [{"type": "set_field", "field_id": birthday, "value": "2000-2-31"}])
    run(app, friend_id, [action])
    with session_scope(get_engine(app)) as session:
        assert session.get(FieldValue, (friend_id, birthday)).value == "2000-01-02"
    assert run(app, friend_id, [{"type": "clear_field", "field_id": birthday}], trigger_key="t:2")[0][1] == "done"
    with session_scope(get_engine(app)) as session:
        assert session.get(FieldValue, (friend_id, birthday)) is None
    assert [entry.action for entry in audit(app, "field.cleared")] == ["field.cleared"]


def test_the_attention_mark_is_set_and_audited(app):
    friend_id = make_friend(app)
    assert run(app, friend_id, [{"type": "mark_attention", "state": "needed"}], source="link:4")[0][1] == "done"
    assert run(app, friend_id, [{"type": "mark_attention", "state": "needed"}], trigger_key="t:2")[0][1] == "skipped"
    with session_scope(get_engine(app)) as session:
        assert session.get(Friend, friend_id).attention == "needed"
    (entry,) = audit(app, "friend.attention")
    assert (entry.actor, entry.target_id, entry.after) == ("link:4", str(friend_id), '{"attention": "needed"}')


def test_each_kind_says_what_it_does_in_japanese(app):
    vip, birthday = make_tag(app, "VIP"), make_field(app, "birthday", field_type="date", label="誕生日")
    actions = [
        {"type": "add_tag", "tag_id": vip},
        {"type": "remove_tag", "tag_id": vip},
        {"type": "set_field", "field_id": birthday, "value": "2000-01-02"},
        {"type": "clear_field", "field_id": birthday},
        {"type": "mark_attention", "state": "needed"},
        {"type": "mark_attention", "state": "in_progress"},
        {"type": "mark_attention", "state": "done"},
    ]
    with app.test_request_context(), session_scope(get_engine(app)) as session:
        assert action_engine.describe_actions(session, actions) == [
            "タグ「VIP」を付ける",
            "タグ「VIP」を外す",
            "友だち情報「誕生日」を「2000-01-02」にする",
            "友だち情報「誕生日」を消す",
            "要対応にする",
            "対応中にする",
            "対応済にする",
        ]
