"""The inbox's migration gives every friend with messages a conversation, with what came before read."""

import sqlalchemy as sa

from crm import migrate
from crm.db import make_engine

AT = "'2026-12-01 00:00:00'"
SEED = [
    "INSERT INTO friend (id, line_user_id, status, follow_count, profile_fetch_attempts, created_at) VALUES"
    f" (1, 'U1', 'following', 1, 0, {AT}), (2, 'U2', 'following', 1, 0, {AT}), (3, 'U3', 'following', 1, 0, {AT})",
    "INSERT INTO message (id, friend_id, direction, message_type, text, unsent, created_at) VALUES"
    f" (1, 1, 'in', 'text', 'a', false, {AT}), (2, 2, 'in', 'text', 'b', false, {AT}),"
    f" (3, 1, 'in', 'text', 'c', false, {AT}), (4, 1, 'out', 'text', 'd', false, {AT})",
]


def test_the_migration_fills_the_conversations(database_url):
    migrate.downgrade(database_url, "0028")
    engine = make_engine(database_url)
    with engine.begin() as db:
        for statement in SEED:
            db.execute(sa.text(statement))
    engine.dispose()
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as db:
        rows = db.execute(
            sa.text(
                "SELECT friend_id, last_message_id, last_incoming_id, last_read_message_id FROM conversation"
                " ORDER BY friend_id"
            )
        ).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [(1, 4, 3, 3), (2, 2, 2, 2)]
