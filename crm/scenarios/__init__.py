"""Step scenarios (シナリオ配信): triggers enrol friends, steps send templates and run actions over time, with
goals, exits, a control group and A/B variants, delivered through the exactly-once engine."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the scenario pieces: console, API, friend-page section (each block owned by its module)."""
    # Console, API and friend page (builder, statistics, test run, staff enrolment).
    from crm import api
    from crm.friends.extras import register_page_section
    from crm.scenarios import api as scenarios_api
    from crm.scenarios import friend_section, step_views, views

    app.register_blueprint(views.bp)
    app.register_blueprint(step_views.bp)
    app.register_blueprint(friend_section.bp)
    api.register(app, scenarios_api.blp)
    register_page_section(app, "scenarios/_friend_scenarios.html", friend_section.page_helpers)
    # End of console, API and friend page.
