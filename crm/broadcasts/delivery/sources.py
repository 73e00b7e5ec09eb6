"""Other features' sends carried by the delivery engine (scenario steps): the sources it runs besides broadcasts.

The engine owns the delivery requests: their retry key stored before the request, the claim with a lease,
the concurrent send, recording LINE's answer, retries and pacing. A source only says what its requests carry:
it writes delivery_request rows for what is due (`prepare`, in its own transactions, since it may call LINE
first), fills claimed jobs with recipients and messages (`claim`), marks its own rows when a request ends
(`finish`) and decides what LINE's monthly limit means for its requests (`hold`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from crm.broadcasts.delivery.requests import Job, Outcome
    from crm.broadcasts.delivery.schedule import DeliverySettings


@dataclass(frozen=True)
class DeliverySource:
    """One feature's sends as the delivery tick runs them.

    - `prepare(engine, line, now, settings)`: write the requests of one batch of due sends; how many sends
      it handled (0: nothing was due). Runs every round of a tick, with no transaction open.
    - `claim(session, now, settings)`: lease due requests (`requests.lease_due`) and fill their recipients and
      messages; [] when none is due.
    - `finish(session, outcomes, state, now)`: the requests ended in `state` ("sent" or "failed").
    - `hold(session, outcomes, now)`: LINE answered that the month's message limit is reached.
    """

    name: str
    prepare: Callable[[Engine, object, datetime, DeliverySettings], int]
    claim: Callable[[Session, datetime, DeliverySettings], list[Job]]
    finish: Callable[[Session, list[Outcome], str, datetime], None]
    hold: Callable[[Session, list[Outcome], datetime], None]


_sources: dict[str, DeliverySource] = {}


def register_source(source: DeliverySource) -> DeliverySource:
    """Add (or replace: every app built registers again) a source the delivery tick runs."""
    _sources[source.name] = source
    return source


def registered_sources() -> list[DeliverySource]:
    """The sources in registration order."""
    return list(_sources.values())


def source_named(name: str) -> DeliverySource:
    """The registered source of a job; KeyError when none has that name."""
    return _sources[name]
