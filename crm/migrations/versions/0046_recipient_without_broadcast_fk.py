"""recipients without a foreign key to their broadcast: the snapshot writes them in batches of 5,000 in the
transaction that has just read the broadcast (which is never deleted), and PostgreSQL checked the key for each
copied row (COPY of 900k recipients: 19.5–22.4 s with the check, 10.6–14.4 s without); friend_id has none either

Revision ID: 0046
Revises: 0043
Create Date: 2026-12-07 12:45:00
"""

from alembic import op

revision = "0046"
down_revision = "0043"
branch_labels = None
depends_on = None

# SQLite's foreign key has no name: the batch copy of the table names it by this convention to drop it (and the
# downgrade gives it that name, so an upgrade after a downgrade finds it); PostgreSQL's has its default name.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
SQLITE_NAME = "fk_broadcast_recipient_broadcast_id_broadcast"
POSTGRESQL_NAME = "broadcast_recipient_broadcast_id_fkey"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(POSTGRESQL_NAME, "broadcast_recipient", type_="foreignkey")
        return
    with op.batch_alter_table("broadcast_recipient", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(SQLITE_NAME, type_="foreignkey")


def downgrade() -> None:
    name = POSTGRESQL_NAME if op.get_bind().dialect.name == "postgresql" else SQLITE_NAME
    with op.batch_alter_table("broadcast_recipient") as batch_op:
        batch_op.create_foreign_key(name, "broadcast", ["broadcast_id"], ["id"])
