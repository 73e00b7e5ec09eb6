"""The delivery engine's entry points for other features (the pieces live in delivery_*.py).

- `send_test(session, line_client, broadcast_id=, friend_ids=, base_url=)`: push a "[テスト]" copy to test friends.
- Resuming a send paused by LINE's monthly limit is a staff action: `crm.services.broadcasts.resume`.
- `on_broadcast_finished(callback)`: `callback(session, broadcast_id=, status=)` when a send ends (sent / missed).
- `MONTHLY_LIMIT_REASON`: the `Broadcast.pause_reason` of such a pause.
The worker's tick is `crm.jobs.delivery_tick`.
"""
from crm.services.delivery_schedule import MONTHLY_LIMIT_REASON, DeliverySettings, on_broadcast_finished
from crm.services.delivery_sender import TestSendResult, send_test

__all__ = ["MONTHLY_LIMIT_REASON", "DeliverySettings", "TestSendResult", "on_broadcast_finished", "send_test"]
