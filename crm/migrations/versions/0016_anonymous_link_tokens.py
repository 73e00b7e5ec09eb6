"""anonymous link tokens and clicks (rich menu URL areas)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 21:58:31
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.timeutil

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("link_click", schema=None) as batch_op:
        batch_op.alter_column("friend_id", existing_type=sa.INTEGER(), nullable=True)

    with op.batch_alter_table("link_token", schema=None) as batch_op:
        batch_op.alter_column("friend_id", existing_type=sa.INTEGER(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM link_click WHERE friend_id IS NULL")
    op.execute("DELETE FROM link_token WHERE friend_id IS NULL")
    with op.batch_alter_table("link_token", schema=None) as batch_op:
        batch_op.alter_column("friend_id", existing_type=sa.INTEGER(), nullable=False)

    with op.batch_alter_table("link_click", schema=None) as batch_op:
        batch_op.alter_column("friend_id", existing_type=sa.INTEGER(), nullable=False)
