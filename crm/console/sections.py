"""Cards that features add to other features' pages (a broadcast's or a scenario's statistics), so the page's
owner never imports them: `register_section(app, page, template, helpers)`, and the page's template includes
`page_sections(page)` in registration order."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

SECTIONS_KEY = "crm_page_sections"


def register_section(app: Flask, page: str, template: str, helpers: Callable[[], dict]) -> None:
    """Show template on the page named `page`, with the names helpers() returns."""
    registered = app.extensions.get(SECTIONS_KEY)
    if registered is None:
        registered = app.extensions[SECTIONS_KEY] = {}
        app.context_processor(lambda: _context(registered))
    registered.setdefault(page, []).append((template, helpers))


def _context(registered: dict) -> dict:
    context = {"page_sections": lambda page: [template for template, _helpers in registered.get(page, ())]}
    for sections in registered.values():
        for _template, helpers in sections:
            context.update(helpers())
    return context
