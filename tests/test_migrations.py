"""Migrations apply from nothing, revert, and match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

import crm.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from crm import migrate
from crm.db import make_engine


def test_schema_matches_the_models(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": migrate.include_name})
        differences = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert differences == []


def test_downgrade_to_nothing_and_back(database_url):
    migrate.downgrade(database_url, "base")
    engine = make_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    assert {"friend", "webhook_event", "message", "staff", "tag"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_migrations_have_one_head():
    """Every new migration has one parent: parallel branches are merged, so `upgrade head` applies them all."""
    heads = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_heads()
    assert heads == ["0046"]
