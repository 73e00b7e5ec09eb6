"""GET /r/<token>: record a tracked click and redirect to the link's stored destination.

The request does the least work: one primary-key lookup, one insert (two when the link adds a tag: the tag
itself is added later by the worker from the click_action queue) on the driver's cursor, committed on SQLite
together with the other requests' clicks of that moment (click_writer, crm.group_commit); on PostgreSQL one
statement in autocommit. A valid click is answered by a small WSGI layer in
front of Flask (no request context, cookie session or request log line, which would also write the token to
the logs); everything else under /r/ (HEAD, link-preview robots, unknown or
malformed tokens) goes to the Flask view. The destination always comes from the database;
an unknown token gets a 404 page, never a redirect.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Response

from crm.db import get_session, is_postgresql, make_engine
from crm.tracking import click_ids
from crm.tracking import clicks as link_clicks
from crm.tracking.click_writer import ClickWriter

bp = Blueprint("redirect", __name__)
PREFIX = "/r/"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


class ClickLayer:
    """WSGI middleware: answers a GET of a known token with 302 after storing the click; passes the rest on."""

    def __init__(self, wsgi_app, engine: Engine, secret: str):
        self.wsgi_app, self.secret = wsgi_app, secret
        click_engine = engine
        if is_postgresql(engine):
            # A click is one atomic statement there: autocommit saves BEGIN and COMMIT, and a pool without
            # pre-ping saves a third round trip (a stale connection is retried once instead, by the writer).
            url = engine.url.render_as_string(hide_password=False)
            click_engine = make_engine(url, pool_pre_ping=False, isolation_level="AUTOCOMMIT")
            event.listen(engine, "engine_disposed", lambda _engine: click_engine.dispose())
        self.writer = ClickWriter(click_engine)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if (
            path.startswith(PREFIX)
            and environ.get("REQUEST_METHOD") == "GET"
            and not link_clicks.is_link_preview(environ.get("HTTP_USER_AGENT"))
        ):
            location = self.click(path[len(PREFIX) :], environ.get("HTTP_USER_AGENT"))
            if location is not None:
                start_response("302 Found", [("Location", location), ("Content-Length", "0"), *NO_STORE.items()])
                return [b""]
        return self.wsgi_app(environ, start_response)

    def click(self, token: str, user_agent: str | None) -> str | None:
        """Store the click and return the destination, or None for an unknown token."""
        target = self.writer.click(token, user_agent)
        if target is None:
            return None
        if target.carries_click_id and target.friend_id is not None and target.click_id is not None:
            return click_ids.with_click_id(target.destination, target.click_id, self.secret)
        return target.destination


@bp.route("/r/<path:token>", methods=["GET"], merge_slashes=False)  # all of /r/ gets our 404, never a 308
def follow(token: str):
    """Unknown tokens: the 404 page. HEAD of a known token (link checkers) or a link-preview robot's GET:
    302, not counted."""
    target = link_clicks.find_target(get_session().connection(), token)
    get_session().rollback()  # only read: end the request session's transaction before answering
    if target is None:
        return render_template("redirect/not_found.html"), 404, NO_STORE
    response = Response(status=302, headers=NO_STORE)
    response.headers["Location"] = target.destination
    response.autocorrect_location_header = False
    return response
