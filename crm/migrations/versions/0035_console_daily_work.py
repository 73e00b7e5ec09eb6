"""console daily work: indexes on friend.blocked_at (blocks per day on the dashboard) and friend.attention
(the home page's attention count and the inbox's filter)

Revision ID: 0035
Revises: 0032
Create Date: 2026-12-07 06:15:00
"""

from alembic import op

revision = "0035"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain CREATE INDEX (no batch): on SQLite a batch rebuild of friend would drop its search triggers (0003).
    op.create_index("ix_friend_blocked_at", "friend", ["blocked_at"], unique=False)
    op.create_index("ix_friend_attention", "friend", ["attention"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_friend_attention", table_name="friend")
    op.drop_index("ix_friend_blocked_at", table_name="friend")
