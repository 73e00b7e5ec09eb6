"""The action engine: one list of actions (tag, field, scenario, template, survey, rich menu, attention) that every
trigger runs, each action once per trigger, written to the friend's history."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the core kinds, the deferred-actions job, the friend page's history section and the history of
    attention marks staff change."""
    from crm.actions import attention_history, forms, history, jobs, kinds
    from crm.friends import attention
    from crm.friends.extras import register_page_section
    from crm.jobs import register_jobs

    kinds.register_core_kinds()
    forms.register_core_inputs()
    register_jobs(app, jobs.JOBS)
    register_page_section(app, "actions/_friend_history.html", history.friend_page_helpers)
    attention.on_change(attention_history.record_change)
    history.register_source(attention_history.STAFF_SOURCE, attention_history.describe_staff)
