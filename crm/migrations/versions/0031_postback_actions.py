"""postback actions: stored action lists behind rich-menu areas and template buttons, and their taps

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 03:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.timeutil

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "postback_action_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("postback_action_list", schema=None) as batch_op:
        batch_op.create_index("ix_postback_action_list_owner", ["owner_type", "owner_id"], unique=False)
    op.create_table(
        "postback_tap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_list_id", sa.Integer(), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("event_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("tapped_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["action_list_id"], ["postback_action_list.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["friend_id"], ["friend.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key"),
    )
    with op.batch_alter_table("postback_tap", schema=None) as batch_op:
        batch_op.create_index("ix_postback_tap_list_at", ["action_list_id", "tapped_at"], unique=False)


def downgrade() -> None:
    op.drop_table("postback_tap")
    op.drop_table("postback_action_list")
