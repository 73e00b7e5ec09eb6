"""Messages to one friend that must leave exactly once: by a fresh reply token, else by push under a stored
retry key, sent after the writing transaction commits and retried by the worker."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the sender's worker job and the friend page's card of refused messages."""
    from crm.friends.extras import register_page_section
    from crm.jobs import register_jobs
    from crm.sending import replies

    register_jobs(app, replies.JOBS)
    register_page_section(app, "sending/_friend_failed_replies.html", replies.friend_page_helpers)
