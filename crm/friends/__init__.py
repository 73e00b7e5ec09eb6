"""Friends (友だち): the friend record, follow and block, profiles, notes, the list and the friend page."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the friend list and page, the friends API, the profile fetch job, the (empty) registry of
    what other features add to the friend page and API, and `attention_label(state)` for the pages."""
    from crm import api
    from crm.console.dashboard import register_home_card
    from crm.friends import api as friends_api
    from crm.friends import api_data, bulk_views, dashboard, jobs, list_views, page_edits, page_views  # noqa: F401  (their routes join the list's and page's blueprints)
    from crm.friends.attention import label_of
    from crm.friends.extras import friend_extras
    from crm.i18n import translate
    from crm.jobs import register_jobs
    from crm.staff.audit_words import register_target

    friend_extras(app)
    app.register_blueprint(page_views.bp)
    app.register_blueprint(list_views.bp)
    api.register(app, friends_api.blp)
    api.register(app, api_data.blp)
    register_jobs(app, jobs.JOBS)
    register_target(app, "friend", page_views.audit_targets)
    app.add_template_global(lambda state: translate(label_of(state)), "attention_label")
    register_home_card(app, "friends/_home_card.html", dashboard.load)
