"""access hardening: sign-in throttling per (email, address), session versions, tokens of deactivated staff

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 21:30:00

Failed sign-ins are counted per (email, client address) and pruned by age, so the indexes follow those two
queries. `staff.session_version` is part of every session cookie: raising it ends the account's sessions.
API tokens created by an already deactivated staff member are revoked, as deactivation now does.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_ip_at")
        batch_op.drop_index("ix_login_attempt_email_at")
        batch_op.create_index("ix_login_attempt_email_ip_at", ["email", "ip_address", "attempted_at"], unique=False)
        batch_op.create_index("ix_login_attempt_at", ["attempted_at"], unique=False)
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="1"))
    op.execute(
        "UPDATE api_token SET revoked_at = CURRENT_TIMESTAMP WHERE revoked_at IS NULL"
        " AND created_by IN (SELECT id FROM staff WHERE NOT active)"
    )


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("session_version")
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_at")
        batch_op.drop_index("ix_login_attempt_email_ip_at")
        batch_op.create_index("ix_login_attempt_email_at", ["email", "attempted_at"], unique=False)
        batch_op.create_index("ix_login_attempt_ip_at", ["ip_address", "attempted_at"], unique=False)
