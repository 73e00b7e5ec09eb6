"""webhook failures and payload retention

Revision ID: 0022
Revises: 0017
Create Date: 2026-12-06 21:20:21

Events whose handling failed are kept aside for an admin's retry; stored payloads can be pruned after the
retention period while the event id stays for duplicate detection.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.timeutil

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "failed_webhook_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("line_user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("error_class", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("error_message", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("webhook_event_id", name="uq_failed_webhook_event_id"),
    )
    with op.batch_alter_table("failed_webhook_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_failed_webhook_event_line_user_id"), ["line_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_failed_webhook_event_resolved_at"), ["resolved_at"], unique=False)

    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload_kept", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.create_index(
            "ix_webhook_event_payload_kept_received_at", ["payload_kept", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_event_payload_kept_received_at")
        batch_op.drop_column("payload_kept")

    with op.batch_alter_table("failed_webhook_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_failed_webhook_event_resolved_at"))
        batch_op.drop_index(batch_op.f("ix_failed_webhook_event_line_user_id"))

    op.drop_table("failed_webhook_event")
