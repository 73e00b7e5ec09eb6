"""friend id covering index: friend ids with their sort times and status, so checks on a given friend (a
segment's status and time conditions, the friend list's sort of a small driving set) read the index alone,
without each friend's row

Revision ID: 0041
Revises: 0039
Create Date: 2026-12-07 09:40:00
"""

from alembic import op

revision = "0041"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_friend_id_checks", "friend", ["id", "status", "last_followed_at", "last_interaction_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_friend_id_checks", table_name="friend")
