"""A follow is LINE's commonest webhook: its statements are counted, so that a change that adds work to every
follow (a lookup per subscriber, an object loaded twice) is a decision, not an accident."""

from sqlalchemy import event as sa_event
from sqlmodel import Session, select

from crm.db import get_engine
from crm.scenarios.models import Enrolment
from crm.webhook.models import WebhookEvent
from tests.signing import event, post_signed

# webhook_event insert, friend upsert, the waiting-login lookup (twice: the welcome check and the route
# subscriber), the friend-added scenarios, the friend's standing in the greeting, the enrolment insert, its steps,
# its first step planned, the event linked to the friend (the outbound webhooks' subscriptions come from their
# cache).
FOLLOW_STATEMENTS = 10


def _statements_of(app, payload) -> list[str]:
    statements = []
    engine = get_engine(app)

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        assert post_signed(app.test_client(), payload).status_code == 200
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    return statements


def test_a_new_friends_follow_with_the_greeting_on_costs_ten_statements(app, greeting):
    _statements_of(app, {"destination": "U0", "events": [event("follow", "U" + "d" * 32)]})  # caches filled
    follow = event("follow", "U" + "f" * 32)
    statements = _statements_of(app, {"destination": "U0", "events": [follow]})
    assert len(statements) <= FOLLOW_STATEMENTS, "\n".join(statements)
    with Session(get_engine(app)) as session:
        stored = session.exec(select(WebhookEvent).where(WebhookEvent.webhook_event_id == follow["webhookEventId"]))
        friend_id = stored.one().friend_id
        assert friend_id is not None
        assert session.exec(select(Enrolment).where(Enrolment.friend_id == friend_id)).one().next_due_at is not None


def test_a_redelivered_follow_costs_one_statement_and_acts_on_nothing(app, greeting):
    follow = event("follow", "U" + "e" * 32)
    _statements_of(app, {"destination": "U0", "events": [follow]})
    statements = _statements_of(app, {"destination": "U0", "events": [follow]})
    assert len(statements) == 1, "\n".join(statements)
    with Session(get_engine(app)) as session:
        assert len(session.exec(select(Enrolment)).all()) == 1, "acted on the redelivery"
