"""foundation: friends, webhook events, messages

Revision ID: 0001
Revises:
Create Date: 2026-11-23 19:03:35.322896
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.timeutil

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "friend",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("picture_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("status_message", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("follow_count", sa.Integer(), nullable=False),
        sa.Column("first_followed_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_followed_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("blocked_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_interaction_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("profile_fetched_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("profile_fetch_due_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("profile_fetch_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("line_user_id"),
    )
    with op.batch_alter_table("friend", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_friend_profile_fetch_due_at"), ["profile_fetch_due_at"], unique=False)

    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("direction", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("message_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("line_message_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("webhook_event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("sent_via", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("unsent", sa.Boolean(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["friend_id"],
            ["friend.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index("ix_message_friend_created", ["friend_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_message_line_message_id"), ["line_message_id"], unique=False)

    op.create_table(
        "webhook_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("source_type", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("source_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("line_user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("friend_id", sa.Integer(), nullable=True),
        sa.Column("is_redelivery", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["friend_id"],
            ["friend.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("webhook_event_id", name="uq_webhook_event_id"),
    )
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_event_friend_id"), ["friend_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_event_friend_id"))

    op.drop_table("webhook_event")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_line_message_id"))
        batch_op.drop_index("ix_message_friend_created")

    op.drop_table("message")
    with op.batch_alter_table("friend", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_friend_profile_fetch_due_at"))

    op.drop_table("friend")
