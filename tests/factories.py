"""One set of factories for every test: each stores plain rows (no audit entries; staff and tokens through their
services) in its own committed transaction on the app's database and returns their ids (a staff member's email,
a token's secret). Keyword arguments override any column."""

from __future__ import annotations

import json

from sqlmodel import select

from crm.broadcasts.models import Broadcast, BroadcastStatus
from crm.db import get_engine, session_scope
from crm.fields.models import FieldDefinition, FieldValue
from crm.friends.models import Friend
from crm.message_templates.models import MessageTemplate
from crm.routes.models import InflowRoute
from crm.scenarios.models import Scenario, ScenarioStatus, ScenarioStep, StepVariant
from crm.staff import api_tokens
from crm.staff.audit import Actor
from crm.staff.service import create_staff
from crm.tags.models import Tag, TagFolder
from crm.tags.service import add_tag

SYSTEM = Actor.system("test")
PASSWORD = "correct horse battery"


def line_user_id(n: int) -> str:
    """A LINE-shaped user id: U and 32 hex digits."""
    return f"U{n:032x}"


def make_friend(app, *, n: int = 1, **values) -> int:
    """Store a following friend (user id number n, named Sakura unless told) and return its id."""
    values.setdefault("line_user_id", line_user_id(n))
    values.setdefault("display_name", "Sakura")
    values.setdefault("follow_count", 1)
    with session_scope(get_engine(app)) as session:
        friend = Friend(**values)
        session.add(friend)
        session.flush()
        return friend.id


def make_friends(app, rows: list[dict]) -> list[int]:
    """Store one friend per row (a row's "tags" lists tag ids to add) and return their ids in order."""
    ids = []
    with session_scope(get_engine(app)) as session:
        for index, values in enumerate(rows):
            values = dict(values)
            tag_ids = values.pop("tags", [])
            values.setdefault("line_user_id", line_user_id(index))
            values.setdefault("follow_count", 1)
            friend = Friend(**values)
            session.add(friend)
            session.flush()
            for tag_id in tag_ids:
                add_tag(session, friend_id=friend.id, tag_id=tag_id, actor=SYSTEM, audit=False)
            ids.append(friend.id)
    return ids


def friend_id_of(app, user_id: str) -> int:
    """The id of the friend with this LINE user id."""
    with session_scope(get_engine(app)) as session:
        return session.exec(select(Friend.id).where(Friend.line_user_id == user_id)).one()


def friend_of(app, user_id: str) -> Friend | None:
    """The friend with this LINE user id, or None."""
    with session_scope(get_engine(app)) as session:
        return session.exec(select(Friend).where(Friend.line_user_id == user_id)).first()


def make_tag(app, name: str = "VIP", *, folder: str | None = None, **values) -> int:
    """Store a tag (in a new folder when one is named; no audit entry) and return its id."""
    with session_scope(get_engine(app)) as session:
        if folder:
            tag_folder = TagFolder(name=folder)
            session.add(tag_folder)
            session.flush()
            values["folder_id"] = tag_folder.id
        tag = Tag(name=name, **values)
        session.add(tag)
        session.flush()
        return tag.id


def make_tags(app, *names: str, **values) -> list[int]:
    """Create tags with these names; return their ids in order."""
    return [make_tag(app, name, **values) for name in names]


def make_field(app, key: str, *, field_type: str = "text", **values) -> int:
    """Define a friend field (labelled by its key unless told) and return its id."""
    values.setdefault("label", key)
    with session_scope(get_engine(app)) as session:
        definition = FieldDefinition(key=key, field_type=field_type, **values)
        session.add(definition)
        session.flush()
        return definition.id


def set_field_value(app, *, friend_id: int, field_id: int, value: str) -> None:
    """Store a friend's field value as it is (no validation)."""
    with session_scope(get_engine(app)) as session:
        session.add(FieldValue(friend_id=friend_id, field_id=field_id, value=value, updated_by="test"))


def make_staff(app, role: str, *, email: str | None = None, locale: str = "ja") -> str:
    """Create a staff member with the test password; return the email."""
    email = email or f"{role}@example.com"
    with session_scope(get_engine(app)) as session:
        create_staff(session, email=email, password=PASSWORD, display_name=role.title(), role=role, locale=locale)
    return email


def make_broadcast(app, messages: list[dict], **values) -> int:
    """Store a scheduled broadcast (sent as soon as possible unless scheduled_at is given); return its id."""
    values.setdefault("name", "Sale")
    values.setdefault("status", BroadcastStatus.SCHEDULED)
    values.setdefault("track_links", False)
    with session_scope(get_engine(app)) as session:
        broadcast = Broadcast(messages=json.dumps(messages, ensure_ascii=False), **values)
        session.add(broadcast)
        session.flush()
        return broadcast.id


def make_token(app, role: str, *, name: str | None = None) -> str:
    """Create an API token with this role; return its secret."""
    with session_scope(get_engine(app)) as session:
        _token, secret = api_tokens.create_token(session, name=name or f"{role} integration", role=role, actor=SYSTEM)
    return secret


def make_template(app, messages: list[dict] | None = None, *, name: str = "ご挨拶", **values) -> int:
    """Store a message template (default: one text); return its id."""
    messages = messages or [{"type": "text", "text": "友だち追加ありがとうございます！"}]
    with session_scope(get_engine(app)) as session:
        template = MessageTemplate(name=name, messages=json.dumps(messages, ensure_ascii=False), **values)
        session.add(template)
        session.flush()
        return template.id


def make_scenario(app, *, steps: list[dict] | None = None, name: str = "ステップ", **values) -> int:
    """Store a scenario (active, manual trigger unless given) with its steps; return its id.

    Each step is a dict of ScenarioStep columns plus optional `template_id` (one variant "A") or `variants`
    (a list of {"label", "weight", "template_id"}); positions are numbered 1, 2, … in order.
    """
    values.setdefault("status", ScenarioStatus.ACTIVE)
    with session_scope(get_engine(app)) as session:
        scenario = Scenario(name=name, **values)
        session.add(scenario)
        session.flush()
        for position, spec in enumerate(steps or [], start=1):
            spec = dict(spec)
            variants = spec.pop("variants", None)
            template_id = spec.pop("template_id", None)
            if isinstance(spec.get("actions"), list):
                spec["actions"] = json.dumps(spec["actions"], ensure_ascii=False)
            step = ScenarioStep(scenario_id=scenario.id, position=position, **spec)
            session.add(step)
            session.flush()
            if variants is None and template_id is not None:
                variants = [{"label": "A", "weight": 1, "template_id": template_id}]
            for variant in variants or []:
                session.add(StepVariant(step_id=step.id, **variant))
        return scenario.id


def make_route(app, *, name: str = "店頭ポスター", actions: list[dict] | None = None, **values) -> tuple[int, str]:
    """Store an inflow route; return its id and code."""
    values.setdefault("code", f"code{name.encode().hex()[:20]}")
    with session_scope(get_engine(app)) as session:
        route = InflowRoute(name=name, actions=json.dumps(actions or [], ensure_ascii=False), **values)
        session.add(route)
        session.flush()
        return route.id, route.code
