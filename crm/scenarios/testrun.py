"""Test run: every step of a scenario (every variant) sent at once to the test friends, marked 「[テスト]」.

The broadcasts' pattern: render and mark in one short transaction (link tokens are written, tracked without the
scenario so test clicks never count), commit, then push with no transaction open and report per friend."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from crm.broadcasts.delivery.sender import TestSend, TestSendResult, push_test_sends
from crm.friends.models import Friend
from crm.message_templates import content
from crm.message_templates.models import MessageTemplate
from crm.scenarios.models import ScenarioStep, StepVariant


@dataclass(frozen=True)
class StepCopy:
    """One step variant's test copy for one test friend."""

    position: int
    label: str
    send: TestSend


@dataclass(frozen=True)
class StepResult:
    position: int
    label: str
    result: TestSendResult


def prepare_test_run(session: Session, *, scenario_id: int, friend_ids: list[int], base_url: str) -> list[StepCopy]:
    """Each step variant rendered for each test friend, in step order; commit before pushing them."""
    query = (
        select(ScenarioStep.position, StepVariant.label, MessageTemplate.messages)
        .join(StepVariant, StepVariant.step_id == ScenarioStep.id)
        .join(MessageTemplate, MessageTemplate.id == StepVariant.template_id)
        .where(ScenarioStep.scenario_id == scenario_id)
        .order_by(ScenarioStep.position, StepVariant.label)
    )
    contents = [(position, label, json.loads(messages)) for position, label, messages in session.execute(query)]
    friends = session.execute(select(Friend).where(Friend.id.in_(friend_ids)).order_by(Friend.id)).scalars().all()
    copies = []
    for friend in friends:
        for position, label, messages in contents:
            rendered = content.render(
                session, messages, friend=friend, base_url=base_url, broadcast_id=None, track_links=True
            )
            send = TestSend(friend.id, friend.line_user_id, content.mark_as_test(rendered), str(uuid.uuid4()))
            copies.append(StepCopy(position, label, send))
    return copies


def push_test_run(line_client, copies: list[StepCopy]) -> list[StepResult]:
    """Push the prepared copies now (no transaction may be open); each copy's result."""
    results = push_test_sends(line_client, [copy.send for copy in copies])
    return [StepResult(copy.position, copy.label, result) for copy, result in zip(copies, results, strict=True)]
