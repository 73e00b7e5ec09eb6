"""The action engine: one list of actions (tag, field, scenario, template, survey, rich menu, attention) that every
trigger runs, each action once per trigger, written to the friend's history."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Nothing to register yet."""
