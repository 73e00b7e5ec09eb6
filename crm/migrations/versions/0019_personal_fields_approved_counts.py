"""personal custom fields; the recipient counts a broadcast was approved for and recounted at

Custom fields get `personal`: masked for roles without personal-data access.

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-06 21:30:00

Existing fields become personal when they are text fields a survey question copies free text into (an
address or a phone number typed by the friend); every other field stays as it was, so analysts keep the
number, date and choice fields their reports use.

Broadcasts get `approved_recipients` (the count a person approved, or that passed the threshold when it was
scheduled; null for broadcasts scheduled before this revision, which are checked against the threshold alone)
and `recounted_recipients` (the count when the send was due that sent it back to awaiting approval).
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("field_definition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("personal", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE field_definition SET personal = TRUE WHERE field_type = 'text' AND id IN "
        "(SELECT save_field_id FROM survey_question WHERE save_field_id IS NOT NULL)"
    )
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_recipients", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recounted_recipients", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.drop_column("recounted_recipients")
        batch_op.drop_column("approved_recipients")
    with op.batch_alter_table("field_definition", schema=None) as batch_op:
        batch_op.drop_column("personal")
