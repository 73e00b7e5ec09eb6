"""one head: merge the branches that features added in parallel

Revision ID: 0017
Revises: 0006, 0009, 0010, 0011, 0014, 0016
Create Date: 2026-12-06 19:00:00

Surveys, rich menus, tracking (then broadcasts), API tokens, webhooks, import jobs, segment indexes and message
retry keys were written as parallel branches. This revision joins them so that `alembic heads` shows one head
and the next feature has one parent; it changes no table.
"""

revision = "0017"
down_revision = ("0006", "0009", "0010", "0011", "0014", "0016")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
