"""Which broadcast status may follow which: the one table that both the staff actions (crm.broadcasts.lifecycle)
and the delivery worker (crm.broadcasts.delivery.schedule) obey."""

from __future__ import annotations

from crm.broadcasts.models import BroadcastStatus as S

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.AWAITING_APPROVAL, S.SCHEDULED, S.CANCELLED}),
    S.AWAITING_APPROVAL: frozenset({S.SCHEDULED, S.CANCELLED}),
    # sending / missed / back to awaiting approval (the audience grew past what was approved): set by the worker
    S.SCHEDULED: frozenset({S.SENDING, S.MISSED, S.CANCELLED, S.AWAITING_APPROVAL}),
    S.SENDING: frozenset({S.SENT, S.PAUSED, S.FAILED}),  # set by the worker
    S.PAUSED: frozenset({S.SENDING, S.FAILED}),  # resume (staff or the worker's probe)
    S.SENT: frozenset(),
    S.CANCELLED: frozenset(),
    S.MISSED: frozenset(),
    S.FAILED: frozenset(),
}


def may_transition(current: str, new: str) -> bool:
    """Tell whether the table allows going from current to new."""
    return new in TRANSITIONS.get(current, frozenset())
