"""outgoing replies: messages answering a friend's event, sent after the webhook has answered

Revision ID: 0021
Revises: 0017
Create Date: 2026-12-06 21:45:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.timeutil

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outgoing_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("line_user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("messages", sa.Text(), nullable=False),
        sa.Column("reply_token", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("reply_expires_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retry_key", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_via", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["friend_id"], ["friend.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("retry_key", name="uq_outgoing_reply_retry_key"),
    )
    with op.batch_alter_table("outgoing_reply", schema=None) as batch_op:
        batch_op.create_index("ix_outgoing_reply_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outgoing_reply_friend_id"), ["friend_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outgoing_reply", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outgoing_reply_friend_id"))
        batch_op.drop_index("ix_outgoing_reply_due")
    op.drop_table("outgoing_reply")
