"""inbox media: a file's size and a video's or voice message's length on its message (the name is its text); an
index of the unread conversations, newest first, for the inbox's unread filter; messages by time and direction,
for the dashboard's messages received today

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07 09:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

UNREAD = sa.text("last_incoming_id > last_read_message_id")


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN on both databases: the message table is never rewritten.
    op.add_column("message", sa.Column("file_size", sa.Integer(), nullable=True))
    op.add_column("message", sa.Column("duration_ms", sa.Integer(), nullable=True))
    op.create_index("ix_message_created_direction", "message", ["created_at", "direction"], unique=False)
    op.create_index(
        "ix_conversation_unread",
        "conversation",
        ["last_message_id"],
        unique=False,
        sqlite_where=UNREAD,
        postgresql_where=UNREAD,
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_unread", table_name="conversation")
    op.drop_index("ix_message_created_direction", table_name="message")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("duration_ms")
        batch_op.drop_column("file_size")
