"""The routes console (create, edit, the route's page with URL, QR code, figures and chart, CSV), routes with no
LINE Login channel, the external-browser page, the friend page's routes and the segment condition."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import xml.etree.ElementTree as ElementTree
from datetime import timedelta

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends.models import FriendStatus
from crm.privacy import service as privacy
from crm.routes.models import InflowRoute, RouteArrival, RouteVisit
from crm.segments import service as segments
from crm.staff.models import AuditEntry
from crm.timeutil import utcnow
from tests.console_helpers import post_form, signed_in_client
from tests.factories import SYSTEM, line_user_id, make_friend, make_route, make_tag

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _arrive(app, route_id: int, friend_id: int | None, kind: str, *, first: bool = False, at=None) -> None:
    at = at or utcnow()
    with session_scope(get_engine(app)) as session:
        visit = RouteVisit(route_id=route_id, visited_at=at)
        session.add(visit)
        session.flush()
        session.add(
            RouteArrival(
                route_id=route_id,
                visit_id=visit.id,
                line_user_id=line_user_id(friend_id or 999),
                friend_id=friend_id,
                kind=kind,
                first_route=first,
                logged_in_at=at,
                settled_at=at if kind != "login" else None,
            )
        )


def test_a_marketer_creates_a_route_with_actions_and_it_is_audited(app):
    tag_id = make_tag(app, "チラシ")
    client = signed_in_client(app, "marketer")
    form = {
        "name": "駅前チラシ",
        "folder": "チラシ",
        "action_timing": "every_time",
        "actions-0-type": "add_tag",
        "actions-0-add_tag-tag_id": str(tag_id),
    }
    response = post_form(client, "/routes/new", form, "/routes/new")
    assert response.status_code == 302
    with session_scope(get_engine(app)) as session:
        route = session.exec(select(InflowRoute)).one()
        assert (route.name, route.folder, route.action_timing) == ("駅前チラシ", "チラシ", "every_time")
        assert json.loads(route.actions) == [{"type": "add_tag", "tag_id": tag_id}]
        assert route.run_welcome_scenarios is False  # an unticked box
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "route.created")).one()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/i/{route.code}" in page and "チラシ" in page

    changed = post_form(
        client, f"/routes/{route.id}/edit", {**form, "action_timing": "first_add", "run_welcome_scenarios": "y"}
    )
    assert changed.status_code == 302
    with session_scope(get_engine(app)) as session:
        route = session.get(InflowRoute, route.id)
        assert (route.action_timing, route.run_welcome_scenarios) == ("first_add", True)
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "route.changed")).one()


def test_a_route_without_a_name_is_shown_again_with_the_error(app):
    client = signed_in_client(app, "admin", locale="en")
    response = post_form(client, "/routes/new", {"name": "", "action_timing": "first_add"}, "/routes/new")
    assert response.status_code == 400


def test_the_route_list_shows_one_folder_at_a_time(app):
    make_route(app, name="駅前ポスター", folder="店頭")
    make_route(app, name="インスタ広告", folder="広告")
    client = signed_in_client(app, "marketer")
    everything = client.get("/routes").get_data(as_text=True)
    assert "駅前ポスター" in everything and "インスタ広告" in everything
    one = client.get("/routes?folder=広告").get_data(as_text=True)
    assert "インスタ広告" in one and "駅前ポスター" not in one


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("marketer", 200), ("staff", 403), ("analyst", 403)])
def test_routes_need_their_permission(app, role, status):
    assert signed_in_client(app, role).get("/routes").status_code == status


def test_the_qr_code_downloads_as_png_and_svg(app):
    route_id, code = make_route(app)
    client = signed_in_client(app, "marketer")
    png = client.get(f"/routes/{route_id}/qr.png?download=1")
    assert png.data.startswith(PNG_SIGNATURE) and png.mimetype == "image/png"
    assert f"route-{code}.png" in png.headers["Content-Disposition"]
    svg = client.get(f"/routes/{route_id}/qr.svg")
    root = ElementTree.fromstring(svg.data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and svg.mimetype == "image/svg+xml"
    assert client.get(f"/routes/{route_id}/qr.gif").status_code == 404


def test_the_route_page_and_csv_count_visits_logins_adds_and_blocks_later(app):
    route_id, _code = make_route(app, name="店頭")
    following = make_friend(app, n=1)
    blocked = make_friend(app, n=2, status=FriendStatus.BLOCKED, blocked_at=utcnow() + timedelta(minutes=5))
    _arrive(app, route_id, following, "new", first=True)
    _arrive(app, route_id, blocked, "unblocked")
    _arrive(app, route_id, None, "login")
    client = signed_in_client(app, "marketer", locale="en")

    page = client.get(f"/routes/{route_id}").get_data(as_text=True)
    for key, value in {"visits": 3, "logins": 3, "new": 1, "unblocked": 1, "login_only": 1, "blocked_later": 1}.items():
        assert f'data-count="{key}">{value}<' in page, key
    assert 'id="route-chart"' in page

    exported = client.get("/routes/export.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert rows[1][1] == "店頭" and rows[1][4:11] == ["3", "3", "1", "0", "1", "0", "1"]


def test_without_a_login_channel_visits_count_and_adds_are_an_estimate(make_app):
    app = make_app(LINE_ADD_FRIEND_URL="https://line.me/R/ti/p/@shop")
    route_id, code = make_route(app)
    make_friend(app, n=1, last_followed_at=utcnow() + timedelta(seconds=1))
    visitor = app.test_client()
    response = visitor.get(f"/i/{code}")
    assert response.status_code == 302 and response.headers["Location"] == "https://line.me/R/ti/p/@shop"
    page = signed_in_client(app, "admin").get(f"/routes/{route_id}").get_data(as_text=True)
    assert 'data-count="visits">1<' in page and 'id="not-attributed"' in page
    assert 'data-count="estimate">1 ' in page and "推定" in page


def test_an_external_browser_is_told_to_open_the_route_in_line(app):
    _route_id, code = make_route(app)
    chrome = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36"}
    page = app.test_client().get(f"/i/{code}", headers=chrome)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "LINEアプリ" in text and "LINE以外のブラウザ" in text
    onward = re.search(r'id="continue-login" href="([^"]+)"', text).group(1)
    with session_scope(get_engine(app)) as session:
        [visit] = session.exec(select(RouteVisit)).all()
        assert f"state={visit.state}" in html.unescape(onward) and "bot_prompt=aggressive" in onward


def test_link_preview_robots_are_not_counted(app):
    _route_id, code = make_route(app)
    robot = {"User-Agent": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"}
    assert app.test_client().get(f"/i/{code}", headers=robot).status_code == 200
    assert app.test_client().head(f"/i/{code}").status_code == 200
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(RouteVisit)).all() == []


def test_an_unknown_code_is_a_404_page(app):
    assert app.test_client().get("/i/nothing-here").status_code == 404


def test_the_friend_page_lists_every_route_first_one_marked(app):
    first_id, _ = make_route(app, name="店頭ポスター")
    later_id, _ = make_route(app, name="インスタ広告")
    friend_id = make_friend(app, n=1)
    _arrive(app, first_id, friend_id, "new", first=True, at=utcnow() - timedelta(days=3))
    _arrive(app, later_id, friend_id, "existing")
    _arrive(app, later_id, friend_id, "existing")
    page = signed_in_client(app, "admin").get(f"/friends/{friend_id}").get_data(as_text=True)
    section = page[page.index('id="routes"') :]
    assert section.index("店頭ポスター") < section.index("インスタ広告")
    assert "最初の経路" in section and "2回" in section


def test_segment_conditions_on_routes_first_or_any(app):
    first_id, _ = make_route(app, name="A")
    later_id, _ = make_route(app, name="B")
    came_first, came_later, neither = make_friend(app, n=1), make_friend(app, n=2), make_friend(app, n=3)
    _arrive(app, first_id, came_first, "new", first=True)
    _arrive(app, later_id, came_first, "existing")
    _arrive(app, later_id, came_later, "new", first=True)
    with session_scope(get_engine(app)) as session:
        now = utcnow()

        def ids(tree):
            valid = segments.validate(session, tree)
            return set(session.exec(segments.recipient_ids(session, valid, now=now)).scalars())

        assert ids({"type": "route", "route_id": later_id}) == {came_first, came_later}
        assert ids({"type": "route", "route_id": later_id, "which": "first"}) == {came_later}
        assert ids({"type": "not", "condition": {"type": "route", "route_id": first_id}}) == {came_later, neither}
        with pytest.raises(segments.SegmentError):
            segments.validate(session, {"type": "route", "route_id": 999})


def test_erasure_forgets_the_line_user_id_of_every_login_but_keeps_the_counts(app):
    route_id, _ = make_route(app)
    friend_id = make_friend(app, n=1)
    _arrive(app, route_id, friend_id, "new", first=True)
    _arrive(app, route_id, None, "login")  # a later login of the same person, not linked yet
    with session_scope(get_engine(app)) as session:
        pending = session.exec(select(RouteArrival).where(RouteArrival.friend_id.is_(None))).one()
        pending.line_user_id = line_user_id(friend_id)
        exported = privacy.friend_export(session, friend_id)["routes"]
        assert [(row["route"], row["kind"], row["first_route"]) for row in exported] == [("店頭ポスター", "new", True)]
        privacy.erase_friend(session, friend_id=friend_id, actor=SYSTEM)
    with session_scope(get_engine(app)) as session:
        arrivals = session.exec(select(RouteArrival)).all()
        assert [arrival.line_user_id for arrival in arrivals] == ["erased", "erased"]
    page = signed_in_client(app, "admin").get(f"/routes/{route_id}").get_data(as_text=True)
    assert 'data-count="new">1<' in page


def test_the_route_page_counts_friends_who_answered_a_survey_afterwards(app):
    from surveys.models import SurveyResponse, SurveyVersion
    from tests.surveys.helpers import build_survey, single

    route_id, _ = make_route(app)
    answered, before, unfinished = make_friend(app, n=1), make_friend(app, n=2), make_friend(app, n=3)
    arrived = utcnow() - timedelta(days=1)
    for friend_id in (answered, before, unfinished):
        _arrive(app, route_id, friend_id, "new", first=True, at=arrived)
    survey_id = build_survey(app, single("満足度は？", "満足", "不満"))
    with session_scope(get_engine(app)) as session:
        version_id = session.exec(select(SurveyVersion.id).where(SurveyVersion.survey_id == survey_id)).first()
        for friend_id, status, finished in (
            (answered, "completed", utcnow()),
            (before, "completed", arrived - timedelta(days=1)),
            (unfinished, "in_progress", None),
        ):
            session.add(
                SurveyResponse(
                    survey_id=survey_id,
                    version_id=version_id,
                    friend_id=friend_id,
                    channel="chat",
                    status=status,
                    finished_at=finished,
                )
            )
    page = signed_in_client(app, "marketer").get(f"/routes/{route_id}").get_data(as_text=True)
    assert 'data-count="survey_answers">1<' in page and "アンケート" in page


def test_the_route_page_counts_friends_who_converted_afterwards_and_their_value(app):
    from crm.conversions.models import Counting, Source, ValueType
    from crm.conversions.points import save_point
    from crm.conversions.recording import record_conversion

    route_id, _ = make_route(app)
    bought_twice, bought_before, other_route = make_friend(app, n=1), make_friend(app, n=2), make_friend(app, n=3)
    arrived = utcnow() - timedelta(days=1)
    for friend_id in (bought_twice, bought_before):
        _arrive(app, route_id, friend_id, "new", first=True, at=arrived)
    with session_scope(get_engine(app)) as session:
        point = save_point(session, actor=SYSTEM, name="購入", value_type=ValueType.YEN, counting=Counting.EVERY)
        for friend_id, value, order, at in (
            (bought_twice, 3000, "A-1", utcnow()),
            (bought_twice, 1500, "A-2", utcnow()),
            (bought_before, 9000, "B-1", arrived - timedelta(hours=1)),  # before the route: not its doing
            (other_route, 7000, "C-1", utcnow()),  # never came through this route
        ):
            record_conversion(
                session, point_id=point.id, friend_id=friend_id, source=Source.API, value=value, order_id=order,
                occurred_at=at,
            )  # fmt: skip
    page = signed_in_client(app, "marketer").get(f"/routes/{route_id}").get_data(as_text=True)
    assert 'data-count="converted">1<' in page
    assert 'data-count="conversion_value">4500<' in page
