"""Flask CLI commands: `flask --app app db upgrade`, `flask --app app db current`."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from crm import migrate

db_cli = AppGroup("db", help="Database migrations.")


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def upgrade_command(revision: str) -> None:
    """Apply migrations to the configured database."""
    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database migrated to {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def downgrade_command(revision: str) -> None:
    """Revert migrations down to REVISION."""
    migrate.downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database reverted to {revision}")


def init_app(app: Flask) -> None:
    """Register the CLI groups."""
    app.cli.add_command(db_cli)
