"""Message templates (テンプレート): saved content of up to 5 LINE messages, uploaded images, per-friend rendering."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Nothing to register yet."""
