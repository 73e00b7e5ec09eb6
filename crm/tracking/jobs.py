"""The click actions tick: add the tags queued by tracked clicks."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.engine import Engine

from crm.jobs import Job
from crm.tracking.redirect import click_actions_tick


def click_actions(_app: Flask, engine: Engine, _line) -> None:
    click_actions_tick(engine)


JOBS = (Job("click_actions", seconds=2, tick=click_actions),)
