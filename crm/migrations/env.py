"""Alembic environment: the URL comes from the caller (crm.migrate), never from a file."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import crm.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from crm.db import make_engine
from crm.migrate import include_name

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Run migrations on a live connection."""
    engine = make_engine(config.attributes["database_url"])
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_name=include_name,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
