"""Flask CLI commands: `flask --app app db upgrade`, `flask --app app db current`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from crm import migrate
from crm.db import get_engine, session_scope
from crm.staff.audit import Actor, record
from crm.staff.service import StaffError, create_staff

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


staff_cli = AppGroup("staff", help="Console staff accounts.")


@staff_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", "display_name", default="", help="Display name (defaults to the email).")
@click.password_option()
def create_admin_command(email: str, display_name: str, password: str) -> None:
    """Create an admin account (the first one is made this way)."""
    with session_scope(get_engine(current_app)) as session:
        try:
            staff = create_staff(session, email=email, password=password, display_name=display_name, role="admin")
        except StaffError as error:
            raise click.ClickException(str(error)) from error
        record(
            session,
            actor=Actor.system("cli"),
            action="staff.created",
            target_type="staff",
            target_id=staff.id,
            after={"email": staff.email, "role": staff.role},
        )
    click.echo(f"admin {email} created")


def init_app(app: Flask) -> None:
    """Register the CLI groups."""
    app.cli.add_command(db_cli)
    app.cli.add_command(staff_cli)
