"""message retry key: one console push per key

Revision ID: 0015
Revises: 0008
Create Date: 2026-11-23 21:54:16
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.timeutil

revision = "0015"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_key", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
        batch_op.create_index("uq_message_retry_key", ["retry_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("uq_message_retry_key")
        batch_op.drop_column("retry_key")
