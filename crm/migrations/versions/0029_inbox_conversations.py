"""1:1 chat inbox: each conversation's latest messages, shared read marker and assignment

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 03:00:00
"""

import sqlalchemy as sa
from alembic import op

import crm.timeutil

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation",
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("last_message_id", sa.Integer(), nullable=True),
        sa.Column("last_incoming_id", sa.Integer(), nullable=False),
        sa.Column("last_read_message_id", sa.Integer(), nullable=False),
        sa.Column("read_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("assigned_staff_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["assigned_staff_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["friend_id"], ["friend.id"]),
        sa.PrimaryKeyConstraint("friend_id"),
    )
    op.create_index("ix_conversation_assigned", "conversation", ["assigned_staff_id", "friend_id"], unique=False)
    op.create_index("ix_conversation_last_message", "conversation", ["last_message_id"], unique=False)
    op.create_index("ix_message_friend_direction_id", "message", ["friend_id", "direction", "id"], unique=False)
    # Every friend who has messages gets their conversation row (what came before the inbox counts as read);
    # from now on the inbox keeps them current.
    op.execute(
        "INSERT INTO conversation (friend_id, last_message_id, last_incoming_id, last_read_message_id)"
        " SELECT friend_id, MAX(id), COALESCE(MAX(CASE WHEN direction = 'in' THEN id END), 0),"
        " COALESCE(MAX(CASE WHEN direction = 'in' THEN id END), 0) FROM message GROUP BY friend_id"
    )


def downgrade() -> None:
    op.drop_index("ix_message_friend_direction_id", table_name="message")
    op.drop_index("ix_conversation_last_message", table_name="conversation")
    op.drop_index("ix_conversation_assigned", table_name="conversation")
    op.drop_table("conversation")
