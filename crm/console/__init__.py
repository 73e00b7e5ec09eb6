"""The staff console's shell: sign-in, error pages, home, navigation and the API docs page.

Each feature registers its own console pages from its `init_app`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the sign-in pages, the error pages, home, the API docs page and the navigation."""
    from crm.console import api_docs, auth, errors, home, nav

    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(home.bp)
    app.register_blueprint(api_docs.bp)
    nav.init_app(app)
