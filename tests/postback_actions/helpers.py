"""Helpers for the postback-action tests: a rich menu whose first area runs actions, built through the console."""

from __future__ import annotations

from sqlmodel import func, select

from crm.actions.models import ActionRun
from crm.db import get_engine, session_scope
from crm.friends.models import Friend
from crm.postback_actions.models import PostbackActionList, PostbackTap
from crm.staff.models import AuditEntry
from tests.richmenus.helpers import FULL, image_bytes, new_menu, save_menu, upload


def action_fields(prefix: str, actions: list[dict]) -> dict:
    """The action editor's fields for these actions (`{"type": kind, param: value}`)."""
    fields = {}
    for row, action in enumerate(actions):
        fields[f"{prefix}-{row}-type"] = action["type"]
        for key, value in action.items():
            if key != "type":
                fields[f"{prefix}-{row}-{action['type']}-{key}"] = str(value)
    return fields


def menu_with_actions(client, actions: list[dict], *, display_text: str = "", name: str = "Main") -> int:
    """A two-area menu with an image: area 1 runs the actions, area 2 sends a text."""
    menu_id = new_menu(client, name=name)
    response = save_menu(
        client,
        menu_id,
        **{
            "areas-0-kind": "actions",
            "areas-0-display_text": display_text,
            "areas-1-kind": "message",
            "areas-1-value": "hello",
        },
        **action_fields("areas-0-actions", actions),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert upload(client, menu_id, image_bytes(FULL)).status_code == 302
    return menu_id


def lists(app) -> list[PostbackActionList]:
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(PostbackActionList).order_by(PostbackActionList.id)))


def tap_count(app) -> int:
    with session_scope(get_engine(app)) as session:
        return session.exec(select(func.count()).select_from(PostbackTap)).one()


def runs(app, friend_id: int) -> list[ActionRun]:
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(ActionRun).where(ActionRun.friend_id == friend_id).order_by(ActionRun.id)))


def attention_of(app, friend_id: int) -> str | None:
    with session_scope(get_engine(app)) as session:
        return session.get(Friend, friend_id).attention


def audit_entries(app, action: str) -> list[AuditEntry]:
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
