"""The conversions console: points saved with actions (audited) that run once per conversion, the purchases
import's dry run and import, the friend page, the RFM page and a cell saved as a segment; permissions."""

from __future__ import annotations

import io
import json

import pytest
from sqlmodel import select

from crm.actions.models import ActionRun
from crm.conversions.jobs import rfm_tick
from crm.conversions.models import ConversionPoint
from crm.db import get_engine, session_scope
from crm.segments.models import Segment
from crm.staff.models import AuditEntry
from crm.tags.models import FriendTag
from tests.console_helpers import csrf_token, signed_in_client
from tests.conversions.helpers import conversions, convert, make_point
from tests.factories import line_user_id, make_friend, make_tag


@pytest.fixture
def marketer(app):
    return signed_in_client(app, "marketer")


def test_a_point_saved_in_the_console_tags_each_converting_friend_once(app, marketer):
    bought = make_tag(app, "購入済")
    token = csrf_token(marketer, "/conversions/new")
    form = {
        "csrf_token": token,
        "name": "購入",
        "value_type": "yen",
        "counting": "every",
        "origins": "https://shop.example/\nhttps://shop.example",
        "actions-0-type": "add_tag",
        "actions-0-add_tag-tag_id": str(bought),
    }
    answer = marketer.post("/conversions/new", data=form)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    with session_scope(get_engine(app)) as session:
        point = session.scalars(select(ConversionPoint)).one()
        assert point.allowed_origins == "https://shop.example"
        assert json.loads(point.actions) == [{"type": "add_tag", "tag_id": bought}]
        assert session.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "conversion_point")).all() == [
            "conversion_point.created"
        ]
    friend_id = make_friend(app)
    assert str(convert(app, point.id, friend_id, value=100, order_id="1")) == "created"
    assert str(convert(app, point.id, friend_id, value=100, order_id="1")) == "duplicate_order"
    assert str(convert(app, point.id, friend_id, value=200, order_id="2")) == "created"
    with session_scope(get_engine(app)) as session:
        runs = session.scalars(select(ActionRun).order_by(ActionRun.id)).all()
        assert [(r.trigger_key.split(":")[0], r.source, r.state) for r in runs] == [
            ("conversion", f"conversion:{point.id}", "done"),
            ("conversion", f"conversion:{point.id}", "skipped"),  # already tagged by the first
        ]
        assert session.scalars(select(FriendTag.friend_id).where(FriendTag.tag_id == bought)).all() == [friend_id]
    index = marketer.get("/conversions").get_data(as_text=True)
    assert 'data-count="value">300' in index


def test_a_bad_origin_keeps_the_form_with_its_message(app, marketer):
    token = csrf_token(marketer, "/conversions/new")
    data = {"csrf_token": token, "name": "購入", "value_type": "yen", "counting": "every", "origins": "shop.example"}
    answer = marketer.post("/conversions/new", data=data)
    assert answer.status_code == 400
    assert "shop.example" in answer.get_data(as_text=True)


def test_the_import_page_checks_then_imports(app, marketer):
    point, friend_id = make_point(app), make_friend(app, n=3)
    data = f"日付,ユーザーID,金額,注文番号\n2026-12-01,{line_user_id(3)},1000,X-1\n2026-12-01,U123,5,X-2\n".encode(
        "cp932"
    )

    def post(apply: str):
        token = csrf_token(marketer, "/conversions/import")
        body = {"csrf_token": token, "point_id": str(point), "apply": apply, "file": (io.BytesIO(data), "p.csv")}
        return marketer.post("/conversions/import", data=body, content_type="multipart/form-data")

    checked = post("0").get_data(as_text=True)
    assert 'data-result="dry-run"' in checked and "U123" in checked
    assert conversions(app) == []
    imported = post("1").get_data(as_text=True)
    assert 'data-result="applied"' in imported
    assert [(c.friend_id, c.value) for c in conversions(app)] == [(friend_id, 1000)]
    page = marketer.get(f"/friends/{friend_id}").get_data(as_text=True)
    assert "data-conversion-totals" in page and "1,000" in page


def test_the_rfm_page_and_a_cell_saved_as_a_segment(app, marketer):
    point = make_point(app)
    for n in range(1, 4):
        convert(app, point, make_friend(app, n=n), value=n * 1000, order_id=str(n))
    rfm_tick(get_engine(app))
    page = marketer.get("/conversions/rfm").get_data(as_text=True)
    assert 'data-decile="1"' in page
    cell = marketer.get("/conversions/rfm/cell?decile=1")
    assert cell.status_code == 200
    token = csrf_token(marketer, "/conversions/rfm/cell?decile=1")
    tree = json.dumps({"type": "decile", "value": 1})
    saved = marketer.post("/conversions/rfm/segment", data={"csrf_token": token, "name": "上位10%", "tree": tree})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/segments")
    with session_scope(get_engine(app)) as session:
        assert json.loads(session.scalars(select(Segment.tree)).one()) == {"type": "decile", "value": 1}
    assert marketer.get("/conversions/rfm/cell?r=9&f=1").status_code == 404


@pytest.mark.parametrize("role", ["editor", "staff", "analyst"])
def test_roles_without_the_permission_are_refused(app, role):
    client = signed_in_client(app, role)
    assert client.get("/conversions").status_code == 403
    assert client.get("/conversions/rfm").status_code == 403
