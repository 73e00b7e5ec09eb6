"""GET /media/<key>.<ext> and /media/<key>/preview.<ext>: uploaded images, public so LINE can fetch them.

The key is the content's SHA-256, so a URL never changes its picture: it may be cached for a year.
"""

from __future__ import annotations

from flask import Blueprint, abort, request
from sqlalchemy import select
from werkzeug.wrappers import Response

from crm.db import get_session
from crm.message_templates import media
from crm.message_templates.models import UploadedImage

bp = Blueprint("media", __name__)
CACHE_FOREVER = "public, max-age=31536000, immutable"


@bp.get("/media/<path:name>")
def image(name: str):
    """The image or its preview, with its own Content-Type; 404 for anything unknown."""
    match = media.REFERENCE.fullmatch(media.MEDIA_PREFIX + name)
    if match is None:
        abort(404)
    column = UploadedImage.preview if match.group("preview") else UploadedImage.data
    row = (
        get_session()
        .execute(select(column, UploadedImage.content_type).where(UploadedImage.key == match.group("key")))
        .first()
    )
    if row is None or media.EXTENSIONS[row.content_type] != match.group("ext"):
        abort(404)
    response = Response(row[0], mimetype=row.content_type)
    response.headers["Cache-Control"] = CACHE_FOREVER
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.set_etag(match.group("key") + ("-preview" if match.group("preview") else ""))
    return response.make_conditional(request)
