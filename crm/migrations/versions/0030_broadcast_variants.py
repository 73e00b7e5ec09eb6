"""broadcast A/B variants: their contents and weights, the variant drawn per recipient and carried per request

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcast_variant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=2), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcast.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("broadcast_id", "label", name="uq_broadcast_variant_label"),
    )
    op.add_column("broadcast_recipient", sa.Column("variant_id", sa.Integer(), nullable=True))
    op.add_column("delivery_request", sa.Column("broadcast_variant_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery_request") as batch:
        batch.drop_column("broadcast_variant_id")
    with op.batch_alter_table("broadcast_recipient") as batch:
        batch.drop_column("variant_id")
    op.drop_table("broadcast_variant")
