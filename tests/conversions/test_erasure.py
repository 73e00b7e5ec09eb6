"""Erasure and export cover conversions: the export lists them; erasing keeps the figures (value, point) but not
the order ids nor the RFM row, and the erased friend can no longer be named by the API."""

from __future__ import annotations

from sqlmodel import select

from crm.conversions.jobs import rfm_tick
from crm.conversions.models import RfmScore
from crm.db import get_engine, session_scope
from crm.privacy import service as privacy
from tests.api.helpers import api_client
from tests.conversions.helpers import STAFF, conversions, convert, make_point
from tests.factories import line_user_id, make_friend


def test_the_export_lists_a_friends_conversions(app):
    friend_id, point = make_friend(app), make_point(app)
    convert(app, point, friend_id, value=2500, order_id="Z-9")
    with session_scope(get_engine(app)) as session:
        exported = privacy.friend_export(session, friend_id)
    assert [(c["point"], c["value"], c["order_id"]) for c in exported["conversions"]] == [("購入", 2500, "Z-9")]


def test_erasure_keeps_the_figures_without_the_order_ids_or_scores(app):
    friend_id, other, point = make_friend(app, n=1), make_friend(app, n=2), make_point(app)
    convert(app, point, friend_id, value=2500, order_id="Z-9")
    convert(app, point, other, value=100, order_id="Z-10")
    rfm_tick(get_engine(app))
    with session_scope(get_engine(app)) as session:
        counts = privacy.erase_friend(session, friend_id=friend_id, actor=STAFF)
    assert (counts["conversion_orders"], counts["rfm_score"]) == (1, 1)
    assert [(c.friend_id, c.value, c.order_id) for c in conversions(app)] == [
        (friend_id, 2500, None),
        (other, 100, "Z-10"),
    ]
    with session_scope(get_engine(app)) as session:
        assert session.scalars(select(RfmScore.friend_id)).all() == [other]
    rfm_tick(get_engine(app), force=True)
    with session_scope(get_engine(app)) as session:
        assert session.scalars(select(RfmScore.friend_id)).all() == [other]  # left out of later computations
    answer = api_client(app, "marketer").post(
        "/api/v1/conversions", json={"point_id": point, "line_user_id": line_user_id(1), "value": 1}
    )
    assert answer.status_code == 404
    by_id = api_client(app, "marketer").post(
        "/api/v1/conversions", json={"point_id": point, "friend_id": friend_id, "value": 1}
    )
    assert by_id.status_code == 404
