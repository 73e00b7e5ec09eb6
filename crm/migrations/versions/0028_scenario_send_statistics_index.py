"""scenario statistics: sends counted per step, state and variant from one covering index

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 00:40:00
"""

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_scenario_send_step_state_variant", "scenario_send", ["step_id", "state", "variant_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_scenario_send_step_state_variant", table_name="scenario_send")
