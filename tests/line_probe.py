"""A LINE client wrapper proving that LINE calls leave the database free: before each call goes out, a new
simulated user follows the account and the CRM must store them through its real webhook."""

from __future__ import annotations

from crm.line.runtime import CLIENT_KEY, line_client
from tests.factories import friend_of


class FollowDuringLineCalls:
    """Wraps a LINE client; `statuses` holds the webhook status of each follow made during a call."""

    def __init__(self, app, sim, client=None):
        self._app, self._sim, self._real = app, sim, client or line_client(app)
        self.statuses: list[int] = []
        self.stored: list[bool] = []

    def install(self) -> FollowDuringLineCalls:
        """Make this wrapper the app's LINE client."""
        self._app.extensions[CLIENT_KEY] = self
        return self

    def __getattr__(self, name):
        method = getattr(self._real, name)

        def call(*args, **kwargs):
            user_id = self._sim.create_user(f"Probe {len(self.statuses) + 1}")
            self.statuses.append(self._sim.follow(user_id)["status"])
            self.stored.append(friend_of(self._app, user_id) is not None)
            return method(*args, **kwargs)

        return call
