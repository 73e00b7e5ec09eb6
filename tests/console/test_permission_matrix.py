"""Every console route × every role (and signed out): guarded, 403 without the permission, usable with it.

The routes are read from the app's URL map, so blueprints added later join the matrix by themselves."""

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select
from werkzeug.routing import AnyConverter

from crm import create_app
from crm.broadcasts.models import Broadcast
from crm.config import testing_config
from crm.db import get_engine, session_scope
from crm.fields.models import FieldDefinition
from crm.friends.models import Friend, Note
from crm.imports.models import ImportJob
from crm.permissions import DESCRIPTIONS, PERMISSIONS, ROLES, can, permission_table_markdown
from crm.staff import api_tokens
from crm.staff.audit import Actor, record
from crm.staff.models import Staff
from crm.staff.service import create_staff
from crm.tags import admin as tag_admin
from crm.tags.models import Tag
from crm.tags.service import add_tag
from tests.conftest import TEST_DB
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import make_staff

pytestmark = pytest.mark.db_agnostic  # route guards do not depend on the database dialect

PUBLIC_ENDPOINTS = {"static", "health.healthz", "line_webhook.callback", "auth.login", "auth.logout", "auth.language"}
# Not console routes: they authenticate otherwise (API tokens, the token in a friend's link). List the REST API,
# the click redirect (/r/<token>) and friend-facing pages here.
API_AND_REDIRECT_ENDPOINTS = {
    "survey_form.show",
    "survey_form.submit",  # a friend's survey web form, named by the token in its link
    "redirect.follow",  # the click redirect /r/<token>: the unguessable token is the credential
    "route_public.visit",  # an inflow route's public URL /i/<code> (printed as a QR code)
    "route_public.callback",  # LINE Login's answer for a route: its single-use state is the credential
    "route_public.thanks",  # the page after a route's login
    "media.image",  # uploaded message images, fetched by LINE and named by their content's SHA-256
    "conversion_collect.script",  # /cv.js, loaded by the shop's pages
    "conversion_collect.preflight",  # CORS for the origins conversion points allow
    "conversion_collect.collect",  # a conversion reported with a signed click id from an allowed origin
}
SIGNED_OUT = "signed-out"
SYSTEM = Actor.system("test")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def _url_map_app():
    """An app built only to read its URL map (nothing connects to this database)."""
    return create_app(testing_config("sqlite://"))


def console_routes() -> list[tuple[str, str, str, str]]:
    """(endpoint, method, rule, permission) of every guarded route."""
    app = _url_map_app()
    routes = []
    for rule in app.url_map.iter_rules():
        permission = getattr(app.view_functions[rule.endpoint], "required_permission", None)
        if permission is not None:
            routes += [
                (rule.endpoint, method, rule.rule, permission) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
            ]
    return routes


ROUTES = console_routes()
# The REST API (/api/v1) and its public OpenAPI document: bearer tokens with the same permission table guard it
# (every operation × role in tests/api/test_api_roles.py).
API_AND_REDIRECT_ENDPOINTS |= {"api-docs.openapi_json"} | {
    endpoint for endpoint, view in _url_map_app().view_functions.items() if hasattr(view, "required_api_permission")
}
CASES = [
    pytest.param(route, who, id=f"{route[0]}-{route[1]}-{who}") for route in ROUTES for who in (*ROLES, SIGNED_OUT)
]


def _objects(app, author_email: str) -> dict:
    """Create one of each object a console URL can name; return the URL values by parameter name."""
    with session_scope(get_engine(app)) as session:
        author = session.exec(select(Staff).where(Staff.email == author_email)).one()
        friend = Friend(line_user_id="U" + "a" * 32, display_name="Matrix")
        field = FieldDefinition(key="store", label="Store", field_type="text")
        session.add_all([friend, field])
        session.flush()
        folder = tag_admin.create_folder(session, name="Folder", actor=SYSTEM)
        tag = tag_admin.create_tag(session, name="Tag", folder_id=folder.id, actor=SYSTEM)
        add_tag(session, friend_id=friend.id, tag_id=tag.id, actor=SYSTEM)
        note = Note(friend_id=friend.id, author_staff_id=author.id, body="memo")
        session.add(note)
        session.flush()
        entry = record(session, actor=SYSTEM, action="test.event")
        broadcast = Broadcast(name="Matrix", messages='[{"type": "text", "text": "hi"}]', created_by=author.id)
        job = ImportJob(
            filename="x.csv",
            encoding="utf-8",
            content=f"userId\n{friend.line_user_id}\n",
            header='["userId"]',
            mapping='["user_id"]',
            total_rows=1,
        )
        session.add_all([broadcast, job])
        session.flush()
        token, _secret = api_tokens.create_token(session, name="Matrix", role="analyst", actor=SYSTEM)
        return {
            "token_id": token.id,
            "friend_id": friend.id,
            "line_user_id": friend.line_user_id,
            "tag_id": tag.id,
            "folder_id": folder.id,
            "field_id": field.id,
            "note_id": note.id,
            "entry_id": entry.id,
            "broadcast_id": broadcast.id,
            "job_id": job.id,
            "staff_id": create_staff(
                session, email="target@example.com", password="target password", display_name="Target", role="staff"
            ).id,
        }


def _url_value(rule, name: str, values: dict):
    """A value for a URL parameter: an object made for the test, else the first of an any(...), else 1."""
    if name in values:
        return values[name]
    converter = rule._converters.get(name)
    return sorted(converter.items)[0] if isinstance(converter, AnyConverter) else 1


def _url(app, endpoint: str, method: str, values: dict) -> str:
    rule = next(rule for rule in app.url_map.iter_rules(endpoint) if method in rule.methods)
    needed = {name: _url_value(rule, name, values) for name in rule.arguments}
    return app.url_map.bind("localhost").build(endpoint, needed, method=method)


@dataclass(frozen=True)
class World:
    """A database where `who` is signed in (or not) and one of each object exists, with that visitor's cookies
    and CSRF token: each case copies it instead of signing in and building the objects again."""

    database: Path
    cookies: tuple
    token: str
    values: dict


def _build_world(make_app, path: Path, who: str) -> World:
    app = make_app(database_url=f"sqlite:///{path}")
    if who == SIGNED_OUT:
        client = app.test_client()
        token = csrf_token(client, "/login")
        values = _objects(app, make_staff(app, "staff", email="author@example.com"))
    else:
        client = signed_in_client(app, who)
        token = csrf_token(client, "/")
        values = _objects(app, f"{who}@example.com")
    cookies = tuple((cookie.key, cookie.value, cookie.domain, cookie.path) for cookie in client._cookies.values())
    return World(path, cookies, token, values)


@pytest.fixture(scope="module")
def worlds(template_database, tmp_path_factory, simulator) -> dict[str, World]:
    """One prepared database per visitor (the route guards do not depend on the dialect: SQLite only)."""
    apps = []

    def make_app(database_url):
        app = create_app(testing_config(database_url, LINE_API_BASE=simulator.url))
        apps.append(app)
        return app

    folder = tmp_path_factory.mktemp("matrix")
    built = {}
    for who in (*ROLES, SIGNED_OUT):
        path = folder / f"{who}.sqlite3"
        shutil.copy(template_database, path)
        built[who] = _build_world(make_app, path, who)
    for app in apps:
        get_engine(app).dispose()
    return built


@pytest.fixture
def database_url(request, template_database, tmp_path):
    """A copy of the case's prepared world (or, for the other tests here, of the migrated template)."""
    if TEST_DB != "sqlite":
        pytest.skip("route guards do not depend on the database dialect: the matrix runs on SQLite")
    callspec = getattr(request.node, "callspec", None)
    who = callspec.params.get("who") if callspec else None
    source = request.getfixturevalue("worlds")[who].database if who else template_database
    path = tmp_path / "crm.sqlite3"
    shutil.copy(source, path)
    return f"sqlite:///{path}"


@pytest.mark.parametrize("route, who", CASES)
def test_route_permission(app, worlds, route, who):
    endpoint, method, _rule, permission = route
    world = worlds[who]
    client = app.test_client()
    for key, value, domain, path in world.cookies:
        client.set_cookie(key, value, domain=domain, path=path)
    token, values = world.token, world.values
    url = _url(app, endpoint, method, values)
    response = client.open(url, method=method, data={"csrf_token": token} if method != "GET" else None)
    if who == SIGNED_OUT:
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    elif not can(who, permission):
        assert response.status_code == 403, f"{who} lacks {permission} but got {response.status_code} at {url}"
    else:
        assert response.status_code != 403 and response.status_code < 500, f"{who} at {url}"
        assert "/login" not in response.headers.get("Location", ""), url


def test_every_route_outside_the_allow_list_is_guarded(app):
    unguarded = sorted(
        endpoint
        for endpoint, view in app.view_functions.items()
        if not hasattr(view, "required_permission") and endpoint not in PUBLIC_ENDPOINTS | API_AND_REDIRECT_ENDPOINTS
    )
    assert unguarded == [], "add @requires(...) to these console routes"


def test_routes_require_permissions_that_exist(app):
    used = {getattr(view, "required_permission", None) for view in app.view_functions.values()} - {None}
    assert used <= set(PERMISSIONS), "unknown permissions deny everyone"


def test_the_matrix_covers_the_console():
    endpoints = {route[0] for route in ROUTES}
    assert {"home.index", "tags.index", "tags.delete", "audit.index", "staff_admin.deactivate"} <= endpoints
    assert {
        "broadcasts.index",
        "broadcasts.new",
        "broadcasts.stats",
        "broadcast_send.schedule",
        "broadcast_send.approve",
        "broadcast_send.cancel",
        "broadcast_send.resume",
    } <= endpoints
    assert {
        "imports.index",
        "imports.upload",
        "imports.show",
        "imports.mapping",
        "imports.apply",
        "imports.discard",
        "privacy.exports",
        "privacy.export_all",
        "privacy.friend_data",
        "privacy.erase",
    } <= endpoints


def test_post_without_csrf_token_is_refused_and_changes_nothing(app):
    client = signed_in_client(app, "admin")
    target = make_staff(app, "staff", email="target@example.com")
    with session_scope(get_engine(app)) as session:
        target_id = session.exec(select(Staff.id).where(Staff.email == target)).one()
    assert client.post("/tags/new", data={"name": "VIP", "folder": "", "color": "#06c755"}).status_code == 400
    assert client.post(f"/staff/{target_id}/deactivate").status_code == 400
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(Tag)).all() == []
        assert session.get(Staff, target_id).active is True


def test_permissions_doc_is_generated_from_the_code():
    assert DOCS.read_text(encoding="utf-8") == permission_table_markdown(), (
        "docs/permissions.md is stale: regenerate it with the command written at its top"
    )


def test_every_permission_is_described_for_the_doc():
    assert set(DESCRIPTIONS) == set(PERMISSIONS)
    assert all(role in ROLES for roles in PERMISSIONS.values() for role in roles)
