"""`flask marketing points-check [--tenant SLUG] [--fix]`: every points balance against
the sum of its entries (rebuilt from them with --fix); exit 1 when anything is off."""

from __future__ import annotations

import click

from backend.db import unit_of_work
from backend.marketing import points
from backend.tenants.service import get_tenant_by_slug


@click.group("marketing")
def cli() -> None:
    """Marketing: coupons, points, group-buy."""


@cli.command("points-check")
@click.option("--tenant", "slug", default=None, help="one tenant (slug); default every tenant with points")
@click.option("--fix", is_flag=True, help="rebuild differing balances from the entries")
def points_check(slug: str | None, fix: bool) -> None:
    """Compare points balances with their entries; exit 1 when one differs or is negative."""
    with unit_of_work():
        tenant_ids = [get_tenant_by_slug(slug=slug).id] if slug else points.tenants_with_points()
        bad = 0
        for tenant_id in tenant_ids:
            report = points.check_points(tenant_id=tenant_id, fix=fix)
            for member_id, balance, total in report.mismatched:
                click.echo(f"tenant {tenant_id} member {member_id}: balance {balance}, entries {total}"
                           + (" (fixed)" if fix else ""))
            negative = [m for m, _, total in report.mismatched if total < 0]
            bad += len(negative) + (0 if fix else len(report.mismatched))
            click.echo(f"tenant {tenant_id}: {report.accounts} accounts, {len(report.mismatched)} differing"
                       + (f", {report.fixed} rebuilt" if fix else ""))
    if bad:
        raise SystemExit(1)
