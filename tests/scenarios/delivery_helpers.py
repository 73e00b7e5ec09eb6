"""Shared helpers of the scenario delivery tests: sends queued as the runtime writes them, and read back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from crm.broadcasts.delivery.jobs import delivery_tick
from crm.broadcasts.delivery.schedule import DeliverySettings
from crm.broadcasts.models import DeliveryRequest
from crm.db import get_engine, session_scope
from crm.line.runtime import line_client
from crm.scenarios.models import Enrolment, ScenarioSend, ScenarioStep, StepVariant
from crm.timeutil import utcnow
from tests.broadcasts.delivery.helpers import BASE
from tests.factories import make_scenario, make_template

SETTINGS = DeliverySettings(base_url=BASE, concurrency=4)


def tick(app, **kwargs):
    """One delivery tick of the worker, against the simulator."""
    return delivery_tick(get_engine(app), line_client(app), settings=kwargs.pop("settings", SETTINGS), **kwargs)


def one_step_scenario(app, messages: list[dict], **values) -> int:
    """An active scenario whose single immediate step sends a template of these messages."""
    template_id = make_template(app, messages)
    return make_scenario(app, steps=[{"delay_minutes": 0, "template_id": template_id}], **values)


def step_variant(app, scenario_id: int, position: int = 1) -> tuple[int, int]:
    """(step id, first variant id) of a scenario's step."""
    with session_scope(get_engine(app)) as session:
        step_id = session.execute(
            select(ScenarioStep.id).where(ScenarioStep.scenario_id == scenario_id, ScenarioStep.position == position)
        ).scalar_one()
        variant_id = session.execute(
            select(StepVariant.id).where(StepVariant.step_id == step_id).order_by(StepVariant.id)
        ).scalar()
        return step_id, variant_id


def queue_sends(
    app,
    scenario_id: int,
    friend_ids: list[int],
    *,
    position: int = 1,
    due_at: datetime | None = None,
    reply_token: str | None = None,
    reply_expires_at: datetime | None = None,
) -> list[int]:
    """Enrol the friends and queue the step for each, as the runtime does; the send ids in order."""
    step_id, variant_id = step_variant(app, scenario_id, position)
    due_at = due_at or utcnow()
    with session_scope(get_engine(app)) as session:
        enrolments = [
            Enrolment(
                scenario_id=scenario_id,
                friend_id=friend_id,
                trigger_key=f"test:{scenario_id}:{friend_id}",
                reply_token=reply_token,
                reply_expires_at=reply_expires_at,
            )
            for friend_id in friend_ids
        ]
        session.add_all(enrolments)
        session.flush()
        sends = [
            ScenarioSend(
                enrolment_id=enrolment.id,
                scenario_id=scenario_id,
                step_id=step_id,
                variant_id=variant_id,
                friend_id=enrolment.friend_id,
                due_at=due_at,
            )
            for enrolment in enrolments
        ]
        session.add_all(sends)
        session.flush()
        return [send.id for send in sends]


def sends_of(app, scenario_id: int) -> list[ScenarioSend]:
    with session_scope(get_engine(app)) as session:
        query = select(ScenarioSend).where(ScenarioSend.scenario_id == scenario_id).order_by(ScenarioSend.id)
        return list(session.execute(query).scalars())


def requests_of(app, scenario_id: int) -> list[DeliveryRequest]:
    """The delivery requests of a scenario's steps, in order."""
    with session_scope(get_engine(app)) as session:
        steps = select(ScenarioStep.id).where(ScenarioStep.scenario_id == scenario_id)
        query = select(DeliveryRequest).where(DeliveryRequest.scenario_step_id.in_(steps)).order_by(DeliveryRequest.id)
        return list(session.execute(query).scalars())


def texts(sim, user_id: str) -> list[str]:
    return [message.get("text") for entry in sim.inbox(user_id) for message in entry["messages"]]
