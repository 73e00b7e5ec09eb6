"""segments, broadcasts, recipients, delivery requests, test friends

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 21:51:40
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.timeutil

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("tree", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "test_friend",
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["added_by"], ["staff.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["friend_id"],
            ["friend.id"],
        ),
        sa.PrimaryKeyConstraint("friend_id"),
    )
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("messages", sa.Text(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=True),
        sa.Column("segment_tree", sa.Text(), nullable=True),
        sa.Column("track_links", sa.Boolean(), nullable=False),
        sa.Column("control_percent", sa.Integer(), nullable=False),
        sa.Column("cap_count", sa.Integer(), nullable=True),
        sa.Column("cap_days", sa.Integer(), nullable=True),
        sa.Column("goal", sa.Text(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("scheduled_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("estimated_recipients", sa.Integer(), nullable=True),
        sa.Column("snapshot_done", sa.Boolean(), nullable=False),
        sa.Column("snapshot_cursor", sa.Integer(), nullable=False),
        sa.Column("pause_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["approved_by"], ["staff.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["segment_id"], ["segment.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.create_index("ix_broadcast_status_due", ["status", "scheduled_at"], unique=False)

    op.create_table(
        "broadcast_recipient",
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("sent_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcast.id"],
        ),
        sa.PrimaryKeyConstraint("broadcast_id", "friend_id"),
    )
    with op.batch_alter_table("broadcast_recipient", schema=None) as batch_op:
        batch_op.create_index("ix_broadcast_recipient_friend", ["friend_id", "sent_at"], unique=False)
        batch_op.create_index("ix_broadcast_recipient_request", ["request_id"], unique=False)
        batch_op.create_index("ix_broadcast_recipient_state", ["broadcast_id", "state", "friend_id"], unique=False)

    op.create_table(
        "delivery_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("retry_key", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("line_request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcast.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("retry_key"),
    )
    with op.batch_alter_table("delivery_request", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_request_due", ["broadcast_id", "state", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delivery_request", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_request_due")

    op.drop_table("delivery_request")
    with op.batch_alter_table("broadcast_recipient", schema=None) as batch_op:
        batch_op.drop_index("ix_broadcast_recipient_state")
        batch_op.drop_index("ix_broadcast_recipient_request")
        batch_op.drop_index("ix_broadcast_recipient_friend")

    op.drop_table("broadcast_recipient")
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.drop_index("ix_broadcast_status_due")

    op.drop_table("broadcast")
    op.drop_table("test_friend")
    op.drop_table("segment")
