"""click actions keyed by the click: click_action.click_id, so a queued click's action runs are keyed by the
click (never reused) instead of the queue row's id, which SQLite hands out again once the queue is empty

Revision ID: 0038
Revises: 0036
Create Date: 2026-12-07 09:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("click_action", sa.Column("click_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("click_action") as batch:
        batch.drop_column("click_id")
