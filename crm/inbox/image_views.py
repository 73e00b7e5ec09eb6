"""The image a friend sent, fetched from LINE for the talk view's thumbnails (inbox and friend page)."""

from __future__ import annotations

import logging

from flask import Response, abort, current_app

from crm.console.guard import requires
from crm.db import get_session
from crm.inbox import images
from crm.inbox.views import bp
from crm.line.runtime import line_client

log = logging.getLogger(__name__)
KEPT_SECONDS = 24 * 3600  # a message's content never changes: the browser may keep it for a day
GONE_SECONDS = 3600  # nor comes back once LINE dropped it


@bp.get("/chat/messages/<int:message_id>/image")
@requires("chat.view")
def message_image(message_id: int):
    """The image's bytes; 404 when LINE keeps it no longer (the page then shows a note), 502 when LINE fails."""
    db = get_session()
    line_message_id = images.line_image_id(db, message_id=message_id)
    if line_message_id is None:
        abort(404)
    db.rollback()  # end the read: LINE is never called inside an open transaction
    try:
        image = images.fetch_image(line_client(current_app), line_message_id)
    except images.ImageGone:
        return _private(Response("gone", status=404, mimetype="text/plain"), GONE_SECONDS)
    except images.ImageUnavailable as error:
        log.warning("message_image_unavailable message_id=%s reason=%s", message_id, error)
        return _private(Response("unavailable", status=502, mimetype="text/plain"), 0)
    return _private(Response(image.data, mimetype=image.content_type), KEPT_SECONDS)


def _private(response: Response, seconds: int) -> Response:
    """Only this staff member's browser may keep the answer (a friend's image is personal data)."""
    response.headers["Cache-Control"] = f"private, max-age={seconds}" if seconds else "no-store"
    return response
