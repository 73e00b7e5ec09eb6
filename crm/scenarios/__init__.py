"""Step scenarios (シナリオ配信): triggers enrol friends, steps send templates and run actions over time, with
goals, exits, a control group and A/B variants, delivered through the exactly-once engine."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Make the worker's delivery job carry scenario sends."""
    from crm.scenarios import delivery

    delivery.register()
