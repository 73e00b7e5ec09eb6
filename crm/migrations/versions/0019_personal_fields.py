"""personal custom fields: masked for roles without personal-data access

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-06 21:30:00

Existing fields become personal when they are text fields a survey question copies free text into (an
address or a phone number typed by the friend); every other field stays as it was, so analysts keep the
number, date and choice fields their reports use.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("field_definition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("personal", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE field_definition SET personal = TRUE WHERE field_type = 'text' AND id IN "
        "(SELECT save_field_id FROM survey_question WHERE save_field_id IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("field_definition", schema=None) as batch_op:
        batch_op.drop_column("personal")
