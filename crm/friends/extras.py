"""What other features add to a friend: cards on the friend page and keys of the API's friend detail.

A feature registers them from its `init_app`, so friends never imports the features that build on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask
from sqlmodel import Session

EXTRAS_KEY = "crm_friend_extras"

# (session, friend_id, masked=..., limit=...) -> the JSON-ready value of one key of GET /api/v1/friends/<id>
DetailBuilder = Callable[..., object]


@dataclass(frozen=True)
class PageSection:
    """A card of the friend page: its template, and the names (functions) that template calls."""

    template: str
    helpers: Callable[[], dict]


@dataclass
class FriendExtras:
    """The page sections (shown in registration order) and API detail keys features registered."""

    sections: list[PageSection] = field(default_factory=list)
    details: dict[str, DetailBuilder] = field(default_factory=dict)

    def template_context(self) -> dict:
        """`friend_sections` (the section templates) and every section's helpers, for the page's templates."""
        context = {"friend_sections": [section.template for section in self.sections]}
        for section in self.sections:
            context.update(section.helpers())
        return context

    def detail(self, session: Session, friend_id: int, *, masked: bool, limit: int) -> dict:
        """The registered keys of one friend's API detail."""
        return {key: build(session, friend_id, masked=masked, limit=limit) for key, build in self.details.items()}


def friend_extras(app: Flask) -> FriendExtras:
    """The app's registrations (created on first use)."""
    extras = app.extensions.get(EXTRAS_KEY)
    if extras is None:
        extras = app.extensions[EXTRAS_KEY] = FriendExtras()
        app.context_processor(extras.template_context)
    return extras


def register_page_section(app: Flask, template: str, helpers: Callable[[], dict]) -> None:
    """Show template on the friend page (after the conversation), with the names helpers() returns."""
    friend_extras(app).sections.append(PageSection(template, helpers))


def register_detail(app: Flask, key: str, build: DetailBuilder) -> None:
    """Add key to the API's friend detail, built by build(session, friend_id, masked=..., limit=...)."""
    details = friend_extras(app).details
    if key in details:
        raise ValueError(f"friend detail key {key!r} is already registered")
    details[key] = build
