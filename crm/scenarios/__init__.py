"""Step scenarios (シナリオ配信): triggers enrol friends, steps send templates and run actions over time, with
goals, exits, a control group and A/B variants, delivered through the exactly-once engine."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the scenarios job, the trigger subscriber, the tag listener, the start/stop action kinds, scenario
    sends as a source of the worker's delivery job, the console, API and friend-page section, and the names the
    audit log and the action history give scenarios."""
    from crm import api, triggers
    from crm.friends.extras import register_page_section
    from crm.jobs import register_jobs
    from crm.scenarios import api as scenarios_api
    from crm.scenarios import delivery, friend_section, jobs, kinds, step_views, views
    from crm.scenarios import triggers as scenario_triggers
    from crm.scenarios.models import Scenario
    from crm.staff.audit_words import named_rows, register_target
    from crm.tags.service import on_tags_changed

    triggers.subscribe(scenario_triggers.on_trigger, batch=scenario_triggers.on_triggers)
    on_tags_changed(scenario_triggers.on_tags_changed)
    kinds.register()
    register_jobs(app, jobs.JOBS)
    delivery.register()
    app.register_blueprint(views.bp)
    app.register_blueprint(step_views.bp)
    app.register_blueprint(friend_section.bp)
    api.register(app, scenarios_api.blp)
    register_page_section(app, "scenarios/_friend_scenarios.html", friend_section.page_helpers)
    register_target(
        app, "scenario", named_rows(Scenario, Scenario.name, endpoint="scenarios.show", id_arg="scenario_id")
    )
