"""webhook events handled after the acknowledgement: when each stored event was handled (NULL: waiting), with a
partial index of the waiting events for the consumer's claim; every event stored before this was handled

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-07 12:00:00
"""

import sqlalchemy as sa
from alembic import op

from crm.timeutil import UTCDateTime

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

WAITING = sa.text("handled_at IS NULL")


def upgrade() -> None:
    op.add_column("webhook_event", sa.Column("handled_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE webhook_event SET handled_at = received_at")
    op.create_index(
        "ix_webhook_event_waiting",
        "webhook_event",
        ["id"],
        unique=False,
        sqlite_where=WAITING,
        postgresql_where=WAITING,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_event_waiting", table_name="webhook_event")
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.drop_column("handled_at")
