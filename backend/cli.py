"""Flask CLI commands. Each domain may add its own group in backend/<domain>/cli.py
(exposing a click group named `cli`); they are found and registered here."""

from __future__ import annotations

import click
from flask import Flask, current_app

from backend.backup import BackupError, backup_sqlite, sqlite_path
from backend.db import unit_of_work
from backend.models_registry import domain_modules
from backend.staff.service import create_staff
from backend.tenants.service import create_tenant, list_tenants


def register_cli(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(tenant_group)
    for module in domain_modules("cli"):
        group = getattr(module, "cli", None)
        if group is not None:
            app.cli.add_command(group)

@click.group("db")
def db_group() -> None:
    """Schema migrations and the SQLite online backup."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the newest revision."""
    from backend.migrate import upgrade  # alembic loads for the db commands only, not on every app start

    upgrade(current_app.config["SQLALCHEMY_DATABASE_URI"])
    click.echo("schema is at head")


@db_group.command("backup")
@click.argument("target", type=click.Path(dir_okay=False))
def db_backup(target: str) -> None:
    """Online backup of the SQLite database to TARGET while the product runs."""
    from pathlib import Path

    from tqdm import tqdm

    try:
        source = sqlite_path(current_app.config["SQLALCHEMY_DATABASE_URI"])
        with tqdm(unit="page", desc="backup", leave=False) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            pages = backup_sqlite(source, Path(target), progress=progress)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backed up {pages} pages of {source} to {target} (integrity ok)")


@db_group.command("revision")
@click.option("-m", "message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a revision from the models (developers)."""
    from backend.migrate import autogenerate  # alembic loads for the db commands only

    autogenerate(current_app.config["SQLALCHEMY_DATABASE_URI"], message)


@click.group("tenant")
def tenant_group() -> None:
    """Platform operator: brands (tenants)."""


@tenant_group.command("create")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--boss-password", default=None, help="also create a 'boss' back-office account")
def tenant_create(slug: str, name: str, boss_password: str | None) -> None:
    """Create a tenant (brand)."""
    with unit_of_work():
        tenant = create_tenant(slug=slug, name=name, actor="cli")
        if boss_password:
            create_staff(tenant_id=tenant.id, username="boss", password=boss_password,
                         display_name="老板", role="boss", actor="cli")
    click.echo(f"tenant {tenant.id} {slug} created")


@tenant_group.command("list")
def tenant_list() -> None:
    """List tenants."""
    for t in list_tenants(limit=1000):
        click.echo(f"{t.id}\t{t.slug}\t{t.name}\t{t.status}")
