"""segments: covering indexes for field values and survey answers (friend_id added)

A segment reads "friends whose field has this value" and "friends who picked this choice" from these
indexes; with friend_id in the index neither read touches the table (a third fewer lookups per friend).

Revision ID: 0014
Revises: 0008, 0005
Create Date: 2026-11-23 22:40:00
"""

from alembic import op

revision = "0014"
down_revision = ("0008", "0005")  # survey_answer is created in 0005, on another branch
branch_labels = None
depends_on = None

INDEXES = (
    ("field_value", "ix_field_value_field_value", ["field_id", "value"]),
    ("survey_answer", "ix_survey_answer_question", ["question_id", "choice_id"]),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [*columns, "friend_id"], unique=False)


def downgrade() -> None:
    for table, name, columns in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=False)
