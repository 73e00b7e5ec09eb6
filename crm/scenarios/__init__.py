"""Step scenarios (シナリオ配信): triggers enrol friends, steps send templates and run actions over time, with
goals, exits, a control group and A/B variants, delivered through the exactly-once engine."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the scenarios job, the trigger subscriber, the tag listener, the start/stop action kinds, and
    scenario sends as a source of the worker's delivery job."""
    from crm import triggers
    from crm.actions.registry import register_kind
    from crm.jobs import register_jobs
    from crm.scenarios import delivery, jobs, kinds
    from crm.scenarios import triggers as scenario_triggers
    from crm.tags.service import on_tags_changed

    triggers.subscribe(scenario_triggers.on_trigger)
    on_tags_changed(scenario_triggers.on_tags_changed)
    register_kind(kinds.START_SCENARIO)
    register_kind(kinds.STOP_SCENARIO)
    register_jobs(app, jobs.JOBS)
    delivery.register()
