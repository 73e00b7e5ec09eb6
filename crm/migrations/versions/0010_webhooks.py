"""outbound webhooks, relay queue, followers import

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-23 21:59:06
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.timeutil

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relay_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("relay_item", schema=None) as batch_op:
        batch_op.create_index("ix_relay_item_due", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "webhook_cursor",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "follower_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("next_token", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("ids_seen", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("started_by", sa.Integer(), nullable=True),
        sa.Column("started_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["started_by"], ["staff.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("events", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "imported_friend",
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("imported_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["friend_id"], ["friend.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["import_id"], ["follower_import.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("friend_id"),
    )
    with op.batch_alter_table("imported_friend", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_imported_friend_import_id"), ["import_id"], unique=False)

    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", crm.timeutil.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoint.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_delivery_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_webhook_delivery_endpoint", ["endpoint_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhook_delivery_finished_at"), ["finished_at"], unique=False)

    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", crm.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_delivery.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoint.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_attempt_delivery_id"), ["delivery_id"], unique=False)
        batch_op.create_index("ix_webhook_attempt_endpoint", ["endpoint_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_attempt_endpoint")
        batch_op.drop_index(batch_op.f("ix_webhook_attempt_delivery_id"))

    op.drop_table("webhook_attempt")
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_delivery_finished_at"))
        batch_op.drop_index("ix_webhook_delivery_endpoint")
        batch_op.drop_index("ix_webhook_delivery_due")

    op.drop_table("webhook_delivery")
    with op.batch_alter_table("imported_friend", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imported_friend_import_id"))

    op.drop_table("imported_friend")
    op.drop_table("webhook_endpoint")
    op.drop_table("follower_import")
    op.drop_table("webhook_cursor")
    with op.batch_alter_table("relay_item", schema=None) as batch_op:
        batch_op.drop_index("ix_relay_item_due")

    op.drop_table("relay_item")
