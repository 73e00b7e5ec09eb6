"""conversions: points, recorded conversions, RFM scores, and tracked links that carry a click id

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 06:20:00
"""

import sqlalchemy as sa
from alembic import op

import crm.timeutil

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tracked_link") as batch:
        batch.add_column(sa.Column("carries_click_id", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "conversion_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value_type", sa.String(length=8), nullable=False),
        sa.Column("counting", sa.String(length=8), nullable=False),
        sa.Column("allowed_origins", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("created_at", crm.timeutil.UTCDateTime(), nullable=False),
        sa.Column("updated_at", crm.timeutil.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "conversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.String(length=100), nullable=True),
        sa.Column("first_key", sa.Integer(), nullable=True),
        sa.Column("occurred_at", crm.timeutil.UTCDateTime(), nullable=False),
        sa.Column("recorded_at", crm.timeutil.UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("click_id", sa.Integer(), nullable=True),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["friend_id"], ["friend.id"]),
        sa.ForeignKeyConstraint(["point_id"], ["conversion_point.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("point_id", "order_id", name="uq_conversion_point_order"),
        sa.UniqueConstraint("point_id", "first_key", name="uq_conversion_point_first"),
    )
    op.create_index("ix_conversion_friend_occurred", "conversion", ["friend_id", "occurred_at"], unique=False)
    op.create_index("ix_conversion_point_occurred", "conversion", ["point_id", "occurred_at"], unique=False)
    op.create_index("ix_conversion_broadcast", "conversion", ["broadcast_id"], unique=False)
    op.create_table(
        "rfm_score",
        sa.Column("friend_id", sa.Integer(), nullable=False),
        sa.Column("last_purchase_at", crm.timeutil.UTCDateTime(), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary", sa.Integer(), nullable=False),
        sa.Column("recency_score", sa.Integer(), nullable=False),
        sa.Column("frequency_score", sa.Integer(), nullable=False),
        sa.Column("monetary_score", sa.Integer(), nullable=False),
        sa.Column("decile", sa.Integer(), nullable=False),
        sa.Column("computed_at", crm.timeutil.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["friend_id"], ["friend.id"]),
        sa.PrimaryKeyConstraint("friend_id"),
    )
    op.create_index("ix_rfm_score_rf", "rfm_score", ["recency_score", "frequency_score"], unique=False)
    op.create_index("ix_rfm_decile", "rfm_score", ["decile"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rfm_decile", table_name="rfm_score")
    op.drop_index("ix_rfm_score_rf", table_name="rfm_score")
    op.drop_table("rfm_score")
    op.drop_index("ix_conversion_broadcast", table_name="conversion")
    op.drop_index("ix_conversion_point_occurred", table_name="conversion")
    op.drop_index("ix_conversion_friend_occurred", table_name="conversion")
    op.drop_table("conversion")
    op.drop_table("conversion_point")
    with op.batch_alter_table("tracked_link") as batch:
        batch.drop_column("carries_click_id")
