"""click tracking: tracked links, per-friend random tokens, clicks, and the on-click tag queue

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-23 20:09:50

link_click has no foreign keys on purpose: it is written on the redirect's hot path from ids just read
from link_token, and on PostgreSQL a foreign key to tracked_link would make every click of a burst take a
share lock on the same parent row.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.timeutil

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "click_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "link_click",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        sa.Column("clicked_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("link_click", schema=None) as batch_op:
        batch_op.create_index("ix_link_click_broadcast_friend", ["broadcast_id", "friend_id"], unique=False)
        batch_op.create_index("ix_link_click_friend_clicked", ["friend_id", "clicked_at"], unique=False)
        batch_op.create_index("ix_link_click_link_friend", ["link_id", "friend_id"], unique=False)

    op.create_table(
        "tracked_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("tag_id", sa.Integer(), nullable=True),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tag_id"], ["tag.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tracked_link", schema=None) as batch_op:
        batch_op.create_index("ix_tracked_link_context", ["broadcast_id", "source"], unique=False)

    op.create_table(
        "link_token",
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["friend_id"],
            ["friend.id"],
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["tracked_link.id"],
        ),
        sa.PrimaryKeyConstraint("token"),
        sa.UniqueConstraint("link_id", "friend_id", name="uq_link_token_link_friend"),
    )
    with op.batch_alter_table("link_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_token_friend_id"), ["friend_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("link_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_token_friend_id"))

    op.drop_table("link_token")
    with op.batch_alter_table("tracked_link", schema=None) as batch_op:
        batch_op.drop_index("ix_tracked_link_context")

    op.drop_table("tracked_link")
    with op.batch_alter_table("link_click", schema=None) as batch_op:
        batch_op.drop_index("ix_link_click_link_friend")
        batch_op.drop_index("ix_link_click_friend_clicked")
        batch_op.drop_index("ix_link_click_broadcast_friend")

    op.drop_table("link_click")
    op.drop_table("click_action")
