"""Images chosen in a console form, stored as uploaded images (the template editor's image messages and cards,
the broadcast composer's image messages)."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms import Form

from crm.db import get_session, unit_of_work
from crm.i18n import message_of
from crm.message_templates import images


def store_uploads(forms: Iterable[Form], *, uploaded_by: int | None, base_url: str = "") -> dict[str, str]:
    """Store the file chosen in each form's `image` field, each in its own transaction (kept even when the rest
    of the page is not saved), and point the form's `image_url` (and `preview_url`, when it has one) at it:
    the stored reference, or an absolute URL under `base_url` when given. Return the errors by field id."""
    errors = {}
    for form in forms:
        upload = form["image"].data
        if not upload or not getattr(upload, "filename", None):
            continue
        data = upload.read()  # bounded by MAX_CONTENT_LENGTH; the check names its real size
        with unit_of_work(images.ImageUploadError) as work:
            stored = images.image_message(
                images.store_image(get_session(), data=data, original_name=upload.filename, uploaded_by=uploaded_by)
            )
            root = base_url.rstrip("/")
            form["image_url"].data = root + stored["originalContentUrl"]
            if "preview_url" in form:
                form["preview_url"].data = root + stored["previewImageUrl"]
        if work.failed:
            errors[form["image"].id] = message_of(work.error)
    return errors
