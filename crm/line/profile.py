"""What LINE tells about a user, as the adapter returns it (no SDK import: services use it too)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """What LINE tells about a user."""

    display_name: str | None
    picture_url: str | None = None
    language: str | None = None
    status_message: str | None = None
