"""`flask plans …`: read, validate, save, activate and simulate reward plans."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from backend.db import unit_of_work, utcnow
from backend.errors import DomainError
from backend.tenants.service import get_tenant_by_slug

cli = AppGroup("plans", help="Reward plans: validate, show, save, activate, simulate.")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from exc


def _tenant_id(slug: str) -> int:
    return get_tenant_by_slug(slug=slug).id


def _fail(err: DomainError) -> None:
    click.echo(json.dumps(err.to_dict(), ensure_ascii=False, indent=2), err=True)
    sys.exit(2)


def _echo(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@cli.command("validate")
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate(plan_file: Path) -> None:
    """Check a plan file; print its canonical form, or the errors with their field paths."""
    from backend.rewards.plan import plan_to_json
    from backend.rewards.service import validate_plan

    try:
        plan = validate_plan(document=_read_json(plan_file))
    except DomainError as err:
        _fail(err)
        return
    _echo({"valid": True, "plan": plan_to_json(plan)})


@cli.command("show")
@click.option("--tenant", "slug", required=True, help="tenant slug")
@click.option("--version", type=int, default=None, help="a version (default: the active plan)")
@click.option("--list", "list_all", is_flag=True, help="list every version instead")
def show(slug: str, version: int | None, list_all: bool) -> None:
    """Print a tenant's active plan, one version, or the list of versions."""
    from backend.rewards import service

    try:
        tenant_id = _tenant_id(slug)
        if list_all:
            _echo([service.plan_view(r, with_document=False)
                   for r in service.list_plan_versions(tenant_id=tenant_id, limit=1000)])
            return
        row = (service.get_plan_version(tenant_id=tenant_id, version=version) if version is not None
               else service.active_plan_row(tenant_id=tenant_id))
        _echo(service.plan_view(row))
    except DomainError as err:
        _fail(err)


@cli.command("save")
@click.option("--tenant", "slug", required=True, help="tenant slug")
@click.option("--activate", "also_activate", is_flag=True, help="activate the new version at once")
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def save(slug: str, also_activate: bool, plan_file: Path) -> None:
    """Store a plan file as the tenant's next version (a draft unless --activate)."""
    from backend.rewards import service

    document = _read_json(plan_file)
    try:
        with unit_of_work():
            tenant_id = _tenant_id(slug)
            row = service.save_plan_version(tenant_id=tenant_id, document=document, actor="cli")
            if also_activate:
                service.activate_plan(tenant_id=tenant_id, version=row.version, actor="cli", now=utcnow())
            view = service.plan_view(row, with_document=False)
    except DomainError as err:
        _fail(err)
        return
    _echo(view)


@cli.command("activate")
@click.option("--tenant", "slug", required=True, help="tenant slug")
@click.option("--version", type=int, required=True)
def activate(slug: str, version: int) -> None:
    """Make a stored version the tenant's active plan."""
    from backend.rewards import service

    try:
        with unit_of_work():
            row = service.activate_plan(tenant_id=_tenant_id(slug), version=version, actor="cli", now=utcnow())
            view = service.plan_view(row, with_document=False)
    except DomainError as err:
        _fail(err)
        return
    _echo(view)


@cli.command("simulate")
@click.option("--tenant", "slug", default=None, help="use this tenant's plan when the case has none")
@click.option("--version", type=int, default=None, help="with --tenant: a version instead of the active one")
@click.argument("case_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def simulate(slug: str | None, version: int | None, case_file: Path) -> None:
    """Print the payouts of a case file (docs/plans.md) as JSON."""
    from backend.rewards import service
    from backend.rewards.simulate import simulate_document

    case = _read_json(case_file)
    try:
        if slug is None:
            result = simulate_document(case, base_dir=case_file.parent)
        else:
            result = service.simulate_case(tenant_id=_tenant_id(slug), case=case, version=version)
    except DomainError as err:
        _fail(err)
        return
    _echo(result)
