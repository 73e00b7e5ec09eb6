"""console: staff, audit, tags, notes, fields

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:06:10.176967
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.timeutil

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_definition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("field_type", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("choices", sa.Text(), nullable=True),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("ip_address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attempted_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempt_email_at", ["email", "attempted_at"], unique=False)
        batch_op.create_index("ix_login_attempt_ip_at", ["ip_address", "attempted_at"], unique=False)

    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("locale", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "tag_folder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_staff_id", sa.Integer(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("target_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("target_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_staff_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_actor_staff_id"), ["actor_staff_id"], unique=False)
        batch_op.create_index("ix_audit_entry_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_entry_target", ["target_type", "target_id"], unique=False)

    op.create_table(
        "field_value",
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["field_id"],
            ["field_definition.id"],
        ),
        sa.ForeignKeyConstraint(
            ["friend_id"],
            ["friend.id"],
        ),
        sa.PrimaryKeyConstraint("friend_id", "field_id"),
    )
    with op.batch_alter_table("field_value", schema=None) as batch_op:
        batch_op.create_index("ix_field_value_field_value", ["field_id", "value"], unique=False)

    op.create_table(
        "note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("author_staff_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_staff_id"],
            ["staff.id"],
        ),
        sa.ForeignKeyConstraint(
            ["friend_id"],
            ["friend.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.create_index("ix_note_friend_created", ["friend_id", "created_at"], unique=False)

    op.create_table(
        "tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("folder_id", sa.Integer(), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("color", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("friend_count", sa.Integer(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["folder_id"],
            ["tag_folder.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("tag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tag_folder_id"), ["folder_id"], unique=False)

    op.create_table(
        "friend_tag",
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("added_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("added_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["friend_id"],
            ["friend.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["tag.id"],
        ),
        sa.PrimaryKeyConstraint("friend_id", "tag_id"),
    )
    with op.batch_alter_table("friend_tag", schema=None) as batch_op:
        batch_op.create_index("ix_friend_tag_tag_friend", ["tag_id", "friend_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("friend_tag", schema=None) as batch_op:
        batch_op.drop_index("ix_friend_tag_tag_friend")

    op.drop_table("friend_tag")
    with op.batch_alter_table("tag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tag_folder_id"))

    op.drop_table("tag")
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.drop_index("ix_note_friend_created")

    op.drop_table("note")
    with op.batch_alter_table("field_value", schema=None) as batch_op:
        batch_op.drop_index("ix_field_value_field_value")

    op.drop_table("field_value")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_target")
        batch_op.drop_index("ix_audit_entry_at")
        batch_op.drop_index(batch_op.f("ix_audit_entry_actor_staff_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_action"))

    op.drop_table("audit_entry")
    op.drop_table("tag_folder")
    op.drop_table("staff")
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_ip_at")
        batch_op.drop_index("ix_login_attempt_email_at")

    op.drop_table("login_attempt")
    op.drop_table("field_definition")
