"""rich menus: drafts, images, tag rules, per-user links, the relink queue, rate-limited calls

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-23 19:27:49
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.timeutil

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rich_menu",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("chat_bar_text", sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
        sa.Column("size", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("layout", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("areas", sa.Text(), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("alias_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("published_revision", sa.Integer(), nullable=True),
        sa.Column("line_menu_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("published_alias_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("published_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alias_id"),
        sa.UniqueConstraint("line_menu_id"),
    )
    op.create_table(
        "rich_menu_api_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rich_menu_api_call", schema=None) as batch_op:
        batch_op.create_index("ix_rich_menu_api_call_endpoint_at", ["endpoint", "at"], unique=False)

    op.create_table(
        "rich_menu_image",
        sa.Column("rich_menu_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rich_menu_id"], ["rich_menu.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("rich_menu_id"),
    )
    op.create_table(
        "rich_menu_link",
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("rich_menu_id", sa.Integer(), nullable=False),
        sa.Column("line_menu_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("linked_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["friend_id"], ["friend.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["rich_menu_id"],
            ["rich_menu.id"],
        ),
        sa.PrimaryKeyConstraint("friend_id"),
    )
    with op.batch_alter_table("rich_menu_link", schema=None) as batch_op:
        batch_op.create_index("ix_rich_menu_link_menu_friend", ["rich_menu_id", "friend_id"], unique=False)

    op.create_table(
        "rich_menu_relink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["friend_id"], ["friend.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rich_menu_relink", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rich_menu_relink_friend_id"), ["friend_id"], unique=False)

    op.create_table(
        "rich_menu_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("rich_menu_id", sa.Integer(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rich_menu_id"], ["rich_menu.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tag.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tag_id"),
    )
    with op.batch_alter_table("rich_menu_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rich_menu_rule_rich_menu_id"), ["rich_menu_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rich_menu_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rich_menu_rule_rich_menu_id"))

    op.drop_table("rich_menu_rule")
    with op.batch_alter_table("rich_menu_relink", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rich_menu_relink_friend_id"))

    op.drop_table("rich_menu_relink")
    with op.batch_alter_table("rich_menu_link", schema=None) as batch_op:
        batch_op.drop_index("ix_rich_menu_link_menu_friend")

    op.drop_table("rich_menu_link")
    op.drop_table("rich_menu_image")
    with op.batch_alter_table("rich_menu_api_call", schema=None) as batch_op:
        batch_op.drop_index("ix_rich_menu_api_call_endpoint_at")

    op.drop_table("rich_menu_api_call")
    op.drop_table("rich_menu")
