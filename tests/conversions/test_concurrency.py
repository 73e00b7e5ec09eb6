"""Two requests with the same order id at once store one conversion: the second waits on the unique index and
then answers with the first (PostgreSQL: SQLite has one writer at a time)."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import Session

from crm.conversions import recording
from crm.conversions.models import Source
from crm.db import get_engine
from tests.conftest import TEST_DB
from tests.conversions.helpers import conversions, make_point
from tests.factories import make_friend


@pytest.mark.skipif(TEST_DB != "postgresql", reason="two transactions at once on PostgreSQL only")
def test_the_same_order_from_two_transactions_is_stored_once(app):
    point, friend_id = make_point(app), make_friend(app)
    engine = get_engine(app)
    values = {"point_id": point, "friend_id": friend_id, "source": Source.API, "value": 100, "order_id": "X-1"}
    found = {}

    def second():
        with Session(engine) as other:
            found["outcome"] = recording.record_conversion(other, **values).outcome
            other.commit()

    with Session(engine) as first:
        assert recording.record_conversion(first, **values).created
        waiting = threading.Thread(target=second)
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive()  # blocked on the unique index until the first commits
        first.commit()
    waiting.join(10)
    assert found["outcome"] == recording.Outcome.DUPLICATE_ORDER
    assert len(conversions(app)) == 1
