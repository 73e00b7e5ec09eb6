"""The redirect's write: a click stored through the database driver's own cursor, with SQL compiled once (on
SQLite committed through the process's group commit, crm.group_commit).

SQLAlchemy's Core costs about 250 µs of CPU per click here (statement cache keys, result objects, connection
events, the pool's bookkeeping); the driver alone about 45 µs. The statements are the Core statements of
`clicks` compiled once for the engine's dialect, so tables and columns are still named in one place, and
values go through the columns' own bind processors (SQLite keeps UTC datetimes as text). On SQLite a commit
costs more than the click's statements, so the clicks of every request waiting at that moment share one
transaction and one commit; each request still answers only after its click is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

from crm import group_commit
from crm.timeutil import UTCDateTime, utcnow
from crm.tracking import clicks
from crm.tracking.links import TOKEN_PATTERN


@dataclass(frozen=True)
class _Compiled:
    """One statement as the driver takes it: its SQL and how to lay out its parameters."""

    sql: str
    names: tuple[str, ...] | None  # positional drivers (SQLite): the parameters' order; None: by name

    @classmethod
    def of(cls, statement: ClauseElement, engine: Engine) -> _Compiled:
        compiled = statement.compile(dialect=engine.dialect)
        return cls(str(compiled), tuple(compiled.positiontup) if compiled.positional else None)

    def parameters(self, values: dict) -> tuple | dict:
        return tuple(values[name] for name in self.names) if self.names is not None else values


class ClickWriter:
    """Looks a token up and stores its click (and queued action): on SQLite committed with the other requests'
    clicks of that moment (group commit); on PostgreSQL in one statement on an autocommit connection (one round
    trip; the server already flushes concurrent commits together)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        dialect = engine.dialect
        self._time: Callable = UTCDateTime().bind_processor(dialect) or (lambda value: value)
        self._disconnect = dialect.is_disconnect
        self._errors = dialect.loaded_dbapi.Error
        if dialect.name == "postgresql":
            self._one_statement = _Compiled.of(clicks.PG_CLICK, engine)
            self._write = self._write_alone
        else:
            self._find = _Compiled.of(clicks.target_statement(), engine)
            self._insert_click = _Compiled.of(clicks.INSERT_CLICK, engine)
            self._insert_action = _Compiled.of(clicks.INSERT_ACTION, engine)
            self._write = self._write_in_group

    def click(self, token: str, user_agent: str | None) -> clicks.ClickTarget | None:
        """Store the click, committed, and return its target; None for a malformed or unknown token. A connection
        the database dropped (a restart) is replaced and the click tried once more."""
        if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
            return None
        values = {"token": token, "now": self._time(utcnow()), "user_agent": clicks.clipped_agent(user_agent)}
        try:
            return self._write(values)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        return self._write(values)

    def _write_in_group(self, values: dict) -> clicks.ClickTarget | None:
        def store(connection: Connection) -> clicks.ClickTarget | None:
            return self._store_in_statements(connection.connection.cursor(), values)

        return group_commit.for_engine(self.engine).run(store)

    def _write_alone(self, values: dict) -> clicks.ClickTarget | None:
        connection = self.engine.raw_connection()  # an autocommit engine's: the statement commits itself
        try:
            return self._store_in_one_statement(connection.cursor(), values)
        except self._errors as error:
            if not self._disconnect(error, connection.dbapi_connection, None):
                raise
            connection.invalidate()
            raise DBAPIError.instance(None, None, error, self._errors, connection_invalidated=True) from error
        finally:
            connection.close()  # back to the pool

    def _store_in_one_statement(self, cursor, values: dict) -> clicks.ClickTarget | None:
        cursor.execute(self._one_statement.sql, self._one_statement.parameters(values))
        row = cursor.fetchone()
        return clicks.ClickTarget(*row) if row else None

    def _store_in_statements(self, cursor, values: dict) -> clicks.ClickTarget | None:
        cursor.execute(self._find.sql, self._find.parameters(values))
        row = cursor.fetchone()
        if row is None:
            return None
        target = clicks.ClickTarget(*row)
        values |= {"link_id": target.link_id, "friend_id": target.friend_id, "broadcast_id": target.broadcast_id}
        cursor.execute(self._insert_click.sql, self._insert_click.parameters(values))
        click_id = cursor.fetchone()[0]
        if clicks.queues_action(target):
            values |= {"tag_id": target.tag_id, "click_id": click_id}
            cursor.execute(self._insert_action.sql, self._insert_action.parameters(values))
        return clicks.ClickTarget(*row, click_id=click_id)
