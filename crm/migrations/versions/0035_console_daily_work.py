"""console daily work: indexes on friend.blocked_at (blocks per day on the dashboard) and friend.attention
(the home page's attention count and the inbox's filter); friend.reading (ふりがな) and a name search that
ignores spaces and finds readings; message.staff_id (who sent a console reply)

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 06:15:00

The name search index of migration 0003 now covers a key derived from the friend's columns
(crm.friends.search_key): the display name without spaces (half- and full-width), U+001F, then the reading.

* PostgreSQL: an immutable SQL function `friend_search_key(name, reading)` (also folding case and katakana to
  hiragana) and the GIN index `friend_search_grams` rebuilt on `friend_search_grams(friend_search_key(...))`.
* SQLite: the FTS5 table `friend_search` refilled with the key, its triggers recreated on display_name and
  reading. A later migration that rebuilds the friend table on SQLite (batch mode) drops these triggers and
  must create them again with this migration's `sqlite_triggers()`.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

KEY_MAX_CHARS = 301  # the name (200) without spaces, the separator, the reading (100)
OLD_NAME_MAX_CHARS = 200
SPACED_STEPS = (12, 24, 48)
SEPARATOR = "char(31)"
KATAKANA = "".join(chr(code) for code in range(0x30A1, 0x30F7))
HIRAGANA = "".join(chr(code) for code in range(0x3041, 0x3097))

PG_KEY_FUNCTION = f"""
CREATE FUNCTION friend_search_key(name text, reading text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT translate(lower(replace(replace(coalesce(name, ''), ' ', ''), '\u3000', '')), '{KATAKANA}', '{HIRAGANA}')
    || chr(31) || coalesce(reading, '')
$$;
"""
PG_NEW_INDEX = (
    "CREATE INDEX friend_search_grams ON friend"
    " USING gin (friend_search_grams(friend_search_key(display_name, reading)))"
)
PG_OLD_INDEX = "CREATE INDEX friend_search_grams ON friend USING gin (friend_search_grams(display_name))"


def new_key(row: str) -> str:
    """SQLite: the search key of a row (`new`, `old` or the table name)."""
    spaceless = f"replace(replace(coalesce({row}.display_name, ''), ' ', ''), '\u3000', '')"
    return f"{spaceless} || {SEPARATOR} || coalesce({row}.reading, '')"


def old_key(row: str) -> str:
    return f"{row}.display_name"


def spaced(expression: str, longest: int) -> str:
    """SQLite expression: the text with a separator before, between and after its characters (as in 0003)."""

    def upto(chars: int) -> str:
        parts = " || ".join(f"substr({expression}, {i}, 1) || {SEPARATOR}" for i in range(1, chars + 1))
        return f"{SEPARATOR} || rtrim({parts}, {SEPARATOR}) || {SEPARATOR}"

    steps = [size for size in SPACED_STEPS if size < longest]
    cases = " ".join(f"WHEN length({expression}) <= {size} THEN {upto(size)}" for size in steps)
    return f"CASE {cases} ELSE {upto(longest)} END"


def _indexed(row: str, key) -> str:
    """SQLite: whether a row has anything to search (the key of 0003 is the name alone)."""
    if key is old_key:
        return f"{row}.display_name IS NOT NULL"
    return f"({row}.display_name IS NOT NULL OR {row}.reading IS NOT NULL)"


def sqlite_triggers(key=new_key) -> list[str]:
    """The triggers that keep friend_search in step with the friend's key (this migration's, or 0003's)."""
    longest = KEY_MAX_CHARS if key is new_key else OLD_NAME_MAX_CHARS
    add = (
        f"INSERT INTO friend_search(rowid, name, pairs) SELECT new.id, {key('new')}, {spaced(key('new'), longest)} "
        f"WHERE {_indexed('new', key)};"
    )
    remove = (
        "INSERT INTO friend_search(friend_search, rowid, name, pairs) "
        f"SELECT 'delete', old.id, {key('old')}, {spaced(key('old'), longest)} WHERE {_indexed('old', key)};"
    )
    changed = "old.display_name IS NOT new.display_name"
    columns = "display_name"
    if key is new_key:
        changed, columns = f"{changed} OR old.reading IS NOT new.reading", "display_name, reading"
    return [
        f"CREATE TRIGGER friend_search_insert AFTER INSERT ON friend BEGIN {add} END",
        f"CREATE TRIGGER friend_search_delete AFTER DELETE ON friend BEGIN {remove} END",
        f"CREATE TRIGGER friend_search_update AFTER UPDATE OF {columns} ON friend WHEN {changed} "
        f"BEGIN {remove} {add} END",
    ]


def _refill_sqlite(key) -> None:
    for name in ("friend_search_insert", "friend_search_delete", "friend_search_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("INSERT INTO friend_search(friend_search) VALUES ('delete-all')")
    for statement in sqlite_triggers(key):
        op.execute(statement)
    longest = KEY_MAX_CHARS if key is new_key else OLD_NAME_MAX_CHARS
    op.execute(
        f"INSERT INTO friend_search(rowid, name, pairs) SELECT id, {key('friend')}, {spaced(key('friend'), longest)} "
        f"FROM friend WHERE {_indexed('friend', key)}"
    )


def upgrade() -> None:
    # Plain CREATE INDEX and ADD COLUMN (no batch): a batch rebuild of friend on SQLite would drop its triggers.
    op.create_index("ix_friend_blocked_at", "friend", ["blocked_at"], unique=False)
    op.create_index("ix_friend_attention", "friend", ["attention"], unique=False)
    op.add_column("friend", sa.Column("reading", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
    op.add_column("message", sa.Column("staff_id", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_KEY_FUNCTION)
        op.execute("DROP INDEX friend_search_grams")
        op.execute(PG_NEW_INDEX)
    else:
        _refill_sqlite(new_key)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX friend_search_grams")
        op.execute(PG_OLD_INDEX)
        op.execute("DROP FUNCTION friend_search_key(text, text)")
    else:
        _refill_sqlite(old_key)
    with op.batch_alter_table("friend", schema=None) as batch_op:
        batch_op.drop_column("reading")
    if op.get_bind().dialect.name == "sqlite":  # the batch rebuild dropped the triggers
        for name in ("friend_search_insert", "friend_search_delete", "friend_search_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in sqlite_triggers(old_key):
            op.execute(statement)
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("staff_id")
    op.drop_index("ix_friend_attention", table_name="friend")
    op.drop_index("ix_friend_blocked_at", table_name="friend")
