"""dashboard counts: friend.blocked_at's index also holds the status, so the dashboard's blocks per Tokyo day
(friends blocked now) are counted from the index alone, without reading each blocked friend's row

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 07:20:00
"""

from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_friend_blocked_at", table_name="friend")
    op.create_index("ix_friend_blocked_at", "friend", ["blocked_at", "status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_friend_blocked_at", table_name="friend")
    op.create_index("ix_friend_blocked_at", "friend", ["blocked_at"], unique=False)
