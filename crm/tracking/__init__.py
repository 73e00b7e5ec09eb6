"""Click tracking (クリック計測): tracked links, per-friend tokens, the /r/ redirect and click actions."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Put the click layer in front of the app, register /r/ (no form, so no CSRF token), the friend page's
    clicks section and API detail, the click actions job, and links named in the history of actions."""
    from crm.actions.history import register_source
    from crm.db import get_engine
    from crm.extensions import csrf
    from crm.friends.extras import register_detail, register_page_section
    from crm.jobs import register_jobs
    from crm.tracking import friend_clicks, jobs, redirect

    app.wsgi_app = redirect.ClickLayer(app.wsgi_app, get_engine(app), app.config["SECRET_KEY"])
    app.register_blueprint(redirect.bp)
    csrf.exempt(redirect.bp)
    register_page_section(app, "tracking/_friend_clicks.html", friend_clicks.friend_page_helpers)
    register_detail(app, "clicks", friend_clicks.friend_clicks)
    register_jobs(app, jobs.JOBS)
    register_source("link", friend_clicks.link_source)
