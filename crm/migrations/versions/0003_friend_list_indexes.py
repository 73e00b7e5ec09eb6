"""friend list: sort indexes and a display-name search index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:30:00

The friend list sorts by (last_followed_at, id) or (last_interaction_at, id) and pages by keyset, so both
pairs are indexed, with the other time and the status appended: a filtered walk then reads only the index
(at 1M friends, "no interaction for a year, newest follow first" drops from 2.5 s to about 0.1 s).
Tag filters use friend_tag's primary key (friend_id, tag_id) and (tag_id, friend_id).

Display-name search is "contains, ignoring case" for terms of any length (Japanese names are often searched
by two characters, which plain trigram indexes cannot serve). Both databases index single characters and
character pairs of each name:

* SQLite: an FTS5 trigram table `friend_search` (contentless) with two columns: `name`, the name itself, for
  terms of 3+ characters, and `pairs`, the name with a separator between its characters, so that one trigram
  is one character pair ("a␟b") or one character ("␟a␟"), for terms of 1 or 2 characters. Triggers on friend
  keep it in sync. A later migration that rebuilds the friend table on SQLite (batch mode) drops these
  triggers and must create them again with `sqlite_triggers()`.
* PostgreSQL: a GIN index `friend_search_grams` on `friend_search_grams(display_name)`, an immutable SQL
  function returning the lower-cased characters, pairs and triples of the name; a search looks up the
  triples of its term (or the term itself when shorter) and rechecks with strpos.

Everything named `friend_search*` is derived data: `crm.migrate.include_name` hides it from autogenerate.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Sort key and id first (keyset order), then the columns filters read, so a walk rarely visits the table.
FOLLOWED_INDEX = ("last_followed_at", "id", "last_interaction_at", "status")
INTERACTION_INDEX = ("last_interaction_at", "id", "last_followed_at", "status")
NAME_MAX_CHARS = 200  # friend.display_name is VARCHAR(200); LINE's own limit is 20
SPACED_STEPS = (12, 24, 48)
SEPARATOR = "char(31)"

PG_FUNCTIONS = """
CREATE FUNCTION friend_search_grams(name text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT array_agg(DISTINCT substr(lower(name), i, n))
  FROM generate_series(1, char_length(name)) AS i, generate_series(1, 3) AS n
  WHERE i + n - 1 <= char_length(name)
$$;
CREATE FUNCTION friend_search_terms(term text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN char_length(term) <= 3 THEN ARRAY[lower(term)]
    ELSE ARRAY(SELECT DISTINCT substr(lower(term), i, 3) FROM generate_series(1, char_length(term) - 2) AS i)
  END
$$;
"""


def spaced(column: str) -> str:
    """SQLite expression: the name with a separator before, between and after its characters.

    Built from substr() calls, one per character; a CASE on the length keeps short names cheap.
    """

    def upto(chars: int) -> str:
        parts = " || ".join(f"substr({column}, {i}, 1) || {SEPARATOR}" for i in range(1, chars + 1))
        return f"{SEPARATOR} || rtrim({parts}, {SEPARATOR}) || {SEPARATOR}"

    steps = [size for size in SPACED_STEPS if size < NAME_MAX_CHARS]
    cases = " ".join(f"WHEN length({column}) <= {size} THEN {upto(size)}" for size in steps)
    return f"CASE {cases} ELSE {upto(NAME_MAX_CHARS)} END"


def sqlite_triggers() -> list[str]:
    """The triggers that keep friend_search in step with friend.display_name (SQLite)."""
    add = (
        "INSERT INTO friend_search(rowid, name, pairs) SELECT new.id, new.display_name, {} "
        "WHERE new.display_name IS NOT NULL;"
    )
    remove = (
        "INSERT INTO friend_search(friend_search, rowid, name, pairs) "
        "SELECT 'delete', old.id, old.display_name, {} WHERE old.display_name IS NOT NULL;"
    )
    add, remove = add.format(spaced("new.display_name")), remove.format(spaced("old.display_name"))
    return [
        f"CREATE TRIGGER friend_search_insert AFTER INSERT ON friend WHEN new.display_name IS NOT NULL BEGIN {add} END",
        f"CREATE TRIGGER friend_search_delete AFTER DELETE ON friend "
        f"WHEN old.display_name IS NOT NULL BEGIN {remove} END",
        f"CREATE TRIGGER friend_search_update AFTER UPDATE OF display_name ON friend "
        f"WHEN old.display_name IS NOT new.display_name BEGIN {remove} {add} END",
    ]


def upgrade() -> None:
    with op.batch_alter_table("friend", schema=None) as batch_op:
        batch_op.create_index("ix_friend_last_followed", list(FOLLOWED_INDEX), unique=False)
        batch_op.create_index("ix_friend_last_interaction", list(INTERACTION_INDEX), unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTIONS)
        op.execute("CREATE INDEX friend_search_grams ON friend USING gin (friend_search_grams(display_name))")
        return
    op.execute("CREATE VIRTUAL TABLE friend_search USING fts5(name, pairs, content='', tokenize='trigram')")
    for statement in sqlite_triggers():
        op.execute(statement)
    op.execute(
        f"INSERT INTO friend_search(rowid, name, pairs) SELECT id, display_name, {spaced('display_name')} "
        "FROM friend WHERE display_name IS NOT NULL"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX friend_search_grams")
        op.execute("DROP FUNCTION friend_search_terms(text)")
        op.execute("DROP FUNCTION friend_search_grams(text)")
    else:
        for name in ("friend_search_insert", "friend_search_delete", "friend_search_update"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE friend_search")
    with op.batch_alter_table("friend", schema=None) as batch_op:
        batch_op.drop_index("ix_friend_last_interaction")
        batch_op.drop_index("ix_friend_last_followed")
