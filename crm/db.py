"""Database engine per app, a session per request, and session_scope() for jobs and the CLI."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from flask import Flask, flash, g
from sqlalchemy import event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from crm.i18n import messages_of

ENGINE_KEY = "crm_engine"


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine that tracks open write transactions; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        engine.dialect.statement_compiler = _HintingSQLiteCompiler
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)
    if kwargs.get("isolation_level") != "AUTOCOMMIT":  # autocommit statements hold no transaction
        track_write_transactions(engine)
    return engine


# DBAPI connections (by id) that have written in their open transaction, with the thread that wrote: they hold
# SQLite's single write lock or PostgreSQL row locks until they commit, roll back or go back to the pool.
_WRITING: dict[int, int] = {}
_WRITE_STATEMENT = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|UPSERT|MERGE|CREATE|ALTER|DROP)\b", re.IGNORECASE)
_LOCKING_READ = re.compile(r"\bFOR\s+(NO\s+KEY\s+)?UPDATE\b", re.IGNORECASE)


def track_write_transactions(engine: Engine) -> None:
    """Note which connections hold a write transaction, for write_transaction_open()."""
    event.listen(engine, "before_cursor_execute", _note_write)
    event.listen(engine, "commit", _forget_connection)
    event.listen(engine, "rollback", _forget_connection)
    event.listen(engine.pool, "reset", _forget_dbapi_connection)
    event.listen(engine.pool, "checkin", _forget_dbapi_connection)


def _note_write(_connection, cursor, statement, _parameters, _context, _executemany) -> None:
    if _WRITE_STATEMENT.match(statement) or _LOCKING_READ.search(statement):
        _WRITING[id(cursor.connection)] = threading.get_ident()


def _forget_connection(connection) -> None:
    _WRITING.pop(id(connection.connection.dbapi_connection), None)


def _forget_dbapi_connection(dbapi_connection, *_args) -> None:
    _WRITING.pop(id(dbapi_connection), None)


def write_transaction_open() -> bool:
    """Whether this thread has a database transaction open that has written (or locked rows) and not ended."""
    me = threading.get_ident()
    return any(thread == me for thread in list(_WRITING.values()))


class _HintingSQLiteCompiler(SQLiteCompiler):
    """SQLite's compiler, writing a table's `with_hint(..., "sqlite")` after its name (`INDEXED BY an_index`);
    SQLAlchemy's own drops SQLite hints."""

    def get_from_hint_text(self, table, text):
        return text


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Tune each SQLite connection for concurrent web and worker processes."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def init_app(app: Flask) -> None:
    """Attach an engine to the app and close the request session on teardown."""
    app.extensions[ENGINE_KEY] = make_engine(app.config["DATABASE_URL"])
    app.teardown_appcontext(_close_session)


def get_engine(app: Flask) -> Engine:
    """Return the app's engine."""
    return app.extensions[ENGINE_KEY]


def get_session() -> Session:
    """Return the session of the current request (created on first use)."""
    if "db_session" not in g:
        from flask import current_app

        g.db_session = Session(get_engine(current_app), expire_on_commit=False)
    return g.db_session


class UnitOfWork:
    """A view's writes as one transaction: `with unit_of_work() as work:` commits when the block ends and rolls
    back when it raises. Errors of the types in `catch` are kept in `work.error` instead of propagating (their
    messages flashed when `flash_error` is set; what was written committed anyway when `commit_on_error` is set,
    for records that must outlive a refusal); anything else is re-raised after the rollback."""

    def __init__(
        self,
        session: Session,
        catch: tuple[type[BaseException], ...] = (),
        *,
        flash_error: bool = False,
        commit_on_error: bool = False,
    ):
        self.session, self.catch = session, catch
        self.flash_error, self.commit_on_error = flash_error, commit_on_error
        self.error: BaseException | None = None

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, exc_type, error, _traceback) -> bool:
        caught = error is not None and isinstance(error, self.catch)
        if error is None or (caught and self.commit_on_error):
            self._commit()
        else:
            self.session.rollback()
        if not caught:
            return False
        self.error = error
        if self.flash_error:
            for message in messages_of(error):
                flash(message, "error")
        return True

    def _commit(self) -> None:
        try:
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise

    @property
    def failed(self) -> bool:
        """Whether a caught error stopped the work (rolled back unless `commit_on_error`)."""
        return self.error is not None


def unit_of_work(*catch: type[BaseException], flash_error: bool = False, commit_on_error: bool = False) -> UnitOfWork:
    """One unit of work on the request's session; see UnitOfWork."""
    return UnitOfWork(get_session(), catch, flash_error=flash_error, commit_on_error=commit_on_error)


def _close_session(_exc) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


_SQLITE_WRITE_LOCKS: dict[str, threading.RLock] = {}


def write_lock(engine: Engine):
    """SQLite has one writer: a process's threads queue on a lock instead of sleeping in busy retries."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return _SQLITE_WRITE_LOCKS.setdefault(str(engine.url), threading.RLock())


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error."""
    with write_lock(engine):
        session = Session(engine, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def is_postgresql(engine_or_session) -> bool:
    """Tell whether the bound database is PostgreSQL."""
    bind = getattr(engine_or_session, "bind", None) or engine_or_session
    return bind.dialect.name == "postgresql"
