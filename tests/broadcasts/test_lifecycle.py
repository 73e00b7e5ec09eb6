"""The broadcast lifecycle: the transition table, approval by a second person, cancel, resume, audit."""

from datetime import timedelta

import pytest
from sqlmodel import select

from crm.broadcasts import lifecycle as broadcasts
from crm.broadcasts.models import BroadcastStatus as S
from crm.broadcasts.options import BroadcastError
from crm.broadcasts.status import may_transition
from crm.staff.audit import Actor
from crm.staff.models import AuditEntry
from tests.broadcasts.helpers import T0, add_broadcast, add_staff, db

WORKER = Actor.system("worker")
ALL = (S.DRAFT, S.AWAITING_APPROVAL, S.SCHEDULED, S.SENDING, S.PAUSED, S.SENT, S.CANCELLED, S.MISSED, S.FAILED)
ALLOWED = {
    (S.DRAFT, S.AWAITING_APPROVAL),
    (S.DRAFT, S.SCHEDULED),
    (S.DRAFT, S.CANCELLED),
    (S.AWAITING_APPROVAL, S.SCHEDULED),
    (S.AWAITING_APPROVAL, S.CANCELLED),
    (S.SCHEDULED, S.SENDING),
    (S.SCHEDULED, S.MISSED),
    (S.SCHEDULED, S.CANCELLED),
    (S.SCHEDULED, S.AWAITING_APPROVAL),  # the worker: the audience grew past what was approved
    (S.SENDING, S.SENT),
    (S.SENDING, S.PAUSED),
    (S.SENDING, S.FAILED),
    (S.PAUSED, S.SENDING),
    (S.PAUSED, S.FAILED),
}


@pytest.mark.db_agnostic
@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("new", ALL)
def test_the_transition_table(current, new):
    assert may_transition(current, new) == ((current, new) in ALLOWED)


def test_a_refused_transition_changes_nothing(app):
    with db(app) as session:
        broadcast = add_broadcast(session, status=S.SENT)
        with pytest.raises(BroadcastError, match="cannot become"):
            broadcasts.transition(session, broadcast, S.SENDING, actor=WORKER)
        assert broadcast.status == S.SENT


def test_worker_transitions_are_audited(app):
    with db(app) as session:
        broadcast = add_broadcast(session, status=S.SCHEDULED)
        broadcasts.transition(session, broadcast, S.SENDING, actor=WORKER, now=T0, started_at=T0)
        session.flush()
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "broadcast.sending")).one()
    assert entry.actor == "worker" and entry.target_id == str(broadcast.id)
    assert '"started_at"' in entry.after


def _awaiting(session):
    creator = add_staff(session, "marketer", "creator@example.com")
    broadcast = add_broadcast(session, status=S.AWAITING_APPROVAL, created_by=creator.staff_id)
    return creator, broadcast


def test_a_second_marketer_or_admin_approves(app):
    with db(app) as session:
        _creator, broadcast = _awaiting(session)
        admin = add_staff(session, "admin", "boss@example.com")
        broadcasts.approve(session, actor=admin, broadcast_id=broadcast.id, now=T0)
        assert (broadcast.status, broadcast.approved_by) == (S.SCHEDULED, admin.staff_id)


@pytest.mark.parametrize("role", ["editor", "staff", "analyst"])
def test_other_roles_cannot_approve(app, role):
    with db(app) as session:
        _creator, broadcast = _awaiting(session)
        other = add_staff(session, role, f"{role}@example.com")
        with pytest.raises(BroadcastError, match="Only a marketer or an admin"):
            broadcasts.approve(session, actor=other, broadcast_id=broadcast.id, now=T0)
        assert broadcast.status == S.AWAITING_APPROVAL


def test_the_creator_cannot_approve_their_own_broadcast(app):
    with db(app) as session:
        creator, broadcast = _awaiting(session)
        with pytest.raises(BroadcastError, match="second person"):
            broadcasts.approve(session, actor=creator, broadcast_id=broadcast.id, now=T0)
        assert broadcast.status == S.AWAITING_APPROVAL


def test_only_a_broadcast_awaiting_approval_can_be_approved(app):
    with db(app) as session:
        admin = add_staff(session, "admin", "boss@example.com")
        broadcast = add_broadcast(session, status=S.DRAFT)
        with pytest.raises(BroadcastError, match="not waiting"):
            broadcasts.approve(session, actor=admin, broadcast_id=broadcast.id, now=T0)


@pytest.mark.parametrize("status", [S.DRAFT, S.AWAITING_APPROVAL, S.SCHEDULED])
def test_cancel_before_sending(app, status):
    with db(app) as session:
        actor = add_staff(session, "marketer", "m@example.com")
        broadcast = add_broadcast(session, status=status)
        broadcasts.cancel(session, actor=actor, broadcast_id=broadcast.id)
        session.flush()
        assert broadcast.status == S.CANCELLED
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "broadcast.cancelled")).one()


@pytest.mark.parametrize("status", [S.SENDING, S.PAUSED, S.SENT, S.CANCELLED, S.MISSED, S.FAILED])
def test_cancel_is_refused_once_sending_started(app, status):
    with db(app) as session:
        actor = add_staff(session, "marketer", "m@example.com")
        broadcast = add_broadcast(session, status=status)
        with pytest.raises(BroadcastError, match="no longer be cancelled"):
            broadcasts.cancel(session, actor=actor, broadcast_id=broadcast.id)
        assert broadcast.status == status


def test_resume_a_paused_broadcast(app):
    with db(app) as session:
        actor = add_staff(session, "marketer", "m@example.com")
        broadcast = add_broadcast(session, status=S.PAUSED, pause_reason="LINE monthly limit reached")
        broadcasts.resume(session, actor=actor, broadcast_id=broadcast.id, now=T0)
        assert (broadcast.status, broadcast.pause_reason) == (S.SENDING, None)
        other = add_broadcast(session, status=S.SENT)
        with pytest.raises(BroadcastError, match="Only a paused"):
            broadcasts.resume(session, actor=actor, broadcast_id=other.id)


def test_an_unknown_broadcast_is_a_clear_error(app):
    with db(app) as session:
        actor = add_staff(session, "marketer", "m@example.com")
        with pytest.raises(BroadcastError, match="does not exist"):
            broadcasts.cancel(session, actor=actor, broadcast_id=999)


def test_approval_is_refused_once_the_scheduled_time_has_passed(app):
    with db(app) as session:
        creator = add_staff(session, "marketer", "creator@example.com")
        broadcast = add_broadcast(session, status=S.AWAITING_APPROVAL, created_by=creator.staff_id, scheduled_at=T0)
        admin = add_staff(session, "admin", "boss@example.com")
        with pytest.raises(BroadcastError, match="has passed"):
            broadcasts.approve(session, actor=admin, broadcast_id=broadcast.id, now=T0 + timedelta(minutes=1))
        assert broadcast.status == S.AWAITING_APPROVAL
