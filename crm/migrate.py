"""Alembic wiring: apply migrations to a database URL (used by the CLI, make run and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).parent / "migrations"
DERIVED_PREFIX = "friend_search"  # the name search index of migration 0003 (FTS5 tables, GIN index)


def include_name(name, type_, parent_names) -> bool:
    """Hide derived search objects, which the models cannot describe, from autogenerate and schema checks."""
    return not (type_ in ("table", "index") and (name or "").startswith(DERIVED_PREFIX))


def alembic_config(database_url: str) -> AlembicConfig:
    """An Alembic configuration for this project's migrations and the given database."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to revision (the one head by default)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Revert migrations down to revision."""
    command.downgrade(alembic_config(database_url), revision)
