"""relay items remember when they failed for good (pruned some days later)

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-06 21:30:00
"""

import sqlalchemy as sa
from alembic import op

import crm.timeutil

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("relay_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_relay_item_failed_at"), ["failed_at"], unique=False)
    op.execute("UPDATE relay_item SET failed_at = received_at WHERE state = 'failed'")


def downgrade() -> None:
    with op.batch_alter_table("relay_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_item_failed_at"))
        batch_op.drop_column("failed_at")
