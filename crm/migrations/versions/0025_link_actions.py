"""tracked links carry a list of actions (the old on-click tag converted into it); click actions without a tag;
the tracking cursor of the link-clicked trigger; a rich-menu relink may name the menu an action chose

Revision ID: 0025
Revises: 0023
Create Date: 2026-12-07 00:10:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0025"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tracking_cursor",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    # The link-clicked trigger starts with the clicks stored from now on.
    op.execute(
        "INSERT INTO tracking_cursor (name, last_id)"
        " SELECT 'link_clicked_trigger', COALESCE(MAX(id), 0) FROM link_click"
    )
    with op.batch_alter_table("tracked_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actions", sa.Text(), nullable=True))
    op.execute(
        'UPDATE tracked_link SET actions = \'[{"tag_id": \' || CAST(tag_id AS VARCHAR(20)) || \', "type": "add_tag"}]\''
        " WHERE tag_id IS NOT NULL"
    )
    with op.batch_alter_table("click_action", schema=None) as batch_op:
        batch_op.alter_column("tag_id", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("rich_menu_relink", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rich_menu_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rich_menu_relink", schema=None) as batch_op:
        batch_op.drop_column("rich_menu_id")
    op.execute("DELETE FROM click_action WHERE tag_id IS NULL")
    with op.batch_alter_table("click_action", schema=None) as batch_op:
        batch_op.alter_column("tag_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("tracked_link", schema=None) as batch_op:
        batch_op.drop_column("actions")
    op.drop_table("tracking_cursor")
