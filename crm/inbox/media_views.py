"""What a friend sent, read from LINE for the talk view (inbox and friend page): an image or a video's preview image
(kept in the server's content cache, so a second look asks LINE nothing), a video or voice message to play, a file
to download.

LINE is never called inside an open transaction: the message is looked up, the read ended, then LINE asked."""

from __future__ import annotations

import io
import logging

from flask import Response, abort, current_app, request, send_file

from crm.console.guard import requires
from crm.db import get_session
from crm.inbox import images
from crm.inbox.content_cache import content_cache
from crm.inbox.views import bp
from crm.line.runtime import line_client

log = logging.getLogger(__name__)
KEPT_SECONDS = 24 * 3600  # a message's content never changes: the browser may keep it for a day
GONE_SECONDS = 3600  # nor comes back once LINE dropped it


@bp.get("/chat/messages/<int:message_id>/image")
@requires("chat.view")
def message_image(message_id: int):
    """An image's bytes; 404 when LINE keeps it no longer (the page then shows a note), 502 when LINE fails."""
    return _cached(message_id, kind="image", kinds=("image",))


@bp.get("/chat/messages/<int:message_id>/preview")
@requires("chat.view")
def message_preview(message_id: int):
    """A video's preview image (LINE makes it); 404 and 502 as for images."""
    return _cached(message_id, kind="preview", kinds=("video",))


@bp.get("/chat/messages/<int:message_id>/content")
@requires("chat.view")
def message_content(message_id: int):
    """A video or voice message to play (its own type, byte ranges for seeking), or a file to download (as a
    download only, under its name, never shown by the browser); not kept on the server."""
    media = _media_or_404(message_id, ("video", "audio", "file"))
    etag = f"content-{media.line_message_id}"
    if etag in request.if_none_match:
        return _not_modified(etag)
    client = line_client(current_app)
    types = images.PLAYABLE_TYPES.get(media.message_type)  # a file: any type, sent as a download
    content = _failure(message_id, lambda: images.fetch(client.get_message_content, media.line_message_id, types=types))
    if isinstance(content, Response):
        return content
    if media.message_type == "file":
        name = images.safe_file_name(media.file_name, fallback=f"file-{message_id}")
        response = send_file(
            io.BytesIO(content.data), mimetype="application/octet-stream", as_attachment=True, download_name=name
        )
    else:
        response = send_file(io.BytesIO(content.data), mimetype=content.content_type, conditional=True, etag=etag)
    response.set_etag(etag)
    return _private(response, KEPT_SECONDS)


def _cached(message_id: int, *, kind: str, kinds: tuple[str, ...]):
    """An image (or preview) from the content cache, else from LINE (then kept); ETag and 304 for the browser."""
    media = _media_or_404(message_id, kinds)
    etag = f"{kind}-{media.line_message_id}"
    if etag in request.if_none_match:
        return _not_modified(etag)
    cache = content_cache(current_app)
    image = cache.get(kind, media.line_message_id)
    if image is None:
        client = line_client(current_app)
        call = client.get_message_content if kind == "image" else client.get_message_content_preview
        image = _failure(
            message_id,
            lambda: images.fetch(
                call, media.line_message_id, types=images.IMAGE_TYPES, max_bytes=images.MAX_IMAGE_BYTES
            ),
        )
        if isinstance(image, Response):
            return image
        cache.put(kind, media.line_message_id, image, friend_id=media.friend_id)
    response = Response(image.data, mimetype=image.content_type)
    response.set_etag(etag)
    return _private(response, KEPT_SECONDS)


def _media_or_404(message_id: int, kinds: tuple[str, ...]) -> images.SentMedia:
    db = get_session()
    media = images.sent_media(db, message_id=message_id, kinds=kinds)
    if media is None:
        abort(404)
    db.rollback()  # end the read: LINE is never called inside an open transaction
    return media


def _failure(message_id: int, fetch):
    """The fetched content, or the answer that says why there is none."""
    try:
        return fetch()
    except images.ImageGone:
        return _private(Response("gone", status=404, mimetype="text/plain"), GONE_SECONDS)
    except images.ImageUnavailable as error:
        log.warning("message_content_unavailable message_id=%s reason=%s", message_id, error)
        return _private(Response("unavailable", status=502, mimetype="text/plain"), 0)


def _not_modified(etag: str) -> Response:
    response = Response(status=304)
    response.set_etag(etag)
    return _private(response, KEPT_SECONDS)


def _private(response: Response, seconds: int) -> Response:
    """Only this staff member's browser may keep the answer (what a friend sent is personal data)."""
    response.headers["Cache-Control"] = f"private, max-age={seconds}" if seconds else "no-store"
    return response
