"""The app's LINE client, created once per app from its configuration."""

from __future__ import annotations

from flask import Flask

from crm.line.client import LineClient
from crm.line.ratelimit import TokenBucket

CLIENT_KEY = "crm_line_client"


def line_client(app: Flask) -> LineClient:
    """Return the app's LINE client (created on first use)."""
    client = app.extensions.get(CLIENT_KEY)
    if client is None:
        client = LineClient(
            api_base=app.config["LINE_API_BASE"],
            access_token=app.config["LINE_CHANNEL_ACCESS_TOKEN"],
            timeout=app.config["LINE_API_TIMEOUT_SECONDS"],
            refuse_in_transaction=app.config.get("ENV") in ("testing", "development"),
            profile_bucket=TokenBucket(app.config["LINE_PROFILE_REQUESTS_PER_SECOND"]),
        )
        app.extensions[CLIENT_KEY] = client
    return client
