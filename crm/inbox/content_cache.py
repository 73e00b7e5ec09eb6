"""What friends sent, kept on this server's disk once read from LINE (images and video previews), so the talk
view shows a thumbnail again without asking LINE: a bounded cache (`CONTENT_CACHE_MAX_BYTES`, the oldest stored
go first) in `CONTENT_CACHE_DIR` (default: `media-cache` in the instance folder), shared by the web processes.

Entries are tagged with the friend's id, so erasing a friend removes their cached content too. A message's
content never changes on LINE, so an entry never needs refreshing."""

from __future__ import annotations

from pathlib import Path

import diskcache
from flask import Flask, current_app, has_app_context

from crm.inbox.images import Image
from crm.privacy.service import on_erase

EXTENSION_KEY = "crm.content_cache"
DEFAULT_FOLDER = "media-cache"


class ContentCache:
    """Bytes and content type by (kind, LINE message id), tagged by friend."""

    def __init__(self, directory: str | Path, *, max_bytes: int):
        self._cache = diskcache.Cache(
            str(directory), size_limit=max_bytes, eviction_policy="least-recently-stored", tag_index=True
        )

    def get(self, kind: str, line_message_id: str) -> Image | None:
        """The kept content, or None."""
        stored = self._cache.get(_key(kind, line_message_id))
        if stored is None:
            return None
        content_type, _, data = bytes(stored).partition(b"\n")
        return Image(data, content_type.decode())

    def put(self, kind: str, line_message_id: str, content: Image, *, friend_id: int) -> None:
        """Keep the content (raw bytes: the content type, a newline, the data); evicts the oldest past the cap."""
        value = content.content_type.encode() + b"\n" + content.data
        self._cache.set(_key(kind, line_message_id), value, tag=_tag(friend_id))

    def forget_friend(self, friend_id: int) -> int:
        """Remove everything kept of this friend; return how many entries went."""
        return self._cache.evict(_tag(friend_id))

    def close(self) -> None:
        self._cache.close()


def _key(kind: str, line_message_id: str) -> str:
    return f"{kind}:{line_message_id}"


def _tag(friend_id: int) -> str:
    return f"friend:{friend_id}"


def content_cache(app: Flask) -> ContentCache:
    """This app's cache (opened on first use)."""
    cache = app.extensions.get(EXTENSION_KEY)
    if cache is None:
        directory = app.config.get("CONTENT_CACHE_DIR") or Path(app.instance_path) / DEFAULT_FOLDER
        cache = app.extensions[EXTENSION_KEY] = ContentCache(directory, max_bytes=app.config["CONTENT_CACHE_MAX_BYTES"])
    return cache


@on_erase
def cached_content(session, *, friend_id: int, line_user_id: str) -> int:
    """Erasure: the friend's cached images and previews go with the rest of their data."""
    if not has_app_context():
        return 0
    return content_cache(current_app._get_current_object()).forget_friend(friend_id)
