"""recipient outcomes: a broadcast recipient's state is read through its delivery request
(crm.broadcasts.recipients), so the index of the stored state serves no read and only slows each snapshot insert

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07 09:25:00
"""

from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_broadcast_recipient_state", table_name="broadcast_recipient")


def downgrade() -> None:
    op.create_index(
        "ix_broadcast_recipient_state", "broadcast_recipient", ["broadcast_id", "state", "friend_id"], unique=False
    )
