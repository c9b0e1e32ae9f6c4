"""`flask analytics …`: write the dashboard's daily facts for past days."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import click
from flask.cli import AppGroup

from backend.analytics import service
from backend.db import run_in_unit_of_work, utcnow
from backend.tenants.service import get_tenant_by_slug

cli = AppGroup("analytics", help="Dashboard figures: backfill daily facts.")


@cli.command("backfill")
@click.option("--tenant", "slug", default=None, help="one tenant's slug (default: every active tenant)")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 366))
def backfill(slug: str | None, days: int) -> None:
    """Recompute the daily facts of the last DAYS China days (today included)."""
    now = utcnow()
    ids = [get_tenant_by_slug(slug=slug).id] if slug else service.active_tenant_ids()
    today = service.china_day(now)
    for tenant_id in ids:
        written = 0
        for i in range(days):
            day = today - timedelta(days=i)
            written += run_in_unit_of_work(
                partial(service.refresh_day, tenant_id=tenant_id, day=day, now=now))
        click.echo(f"tenant {tenant_id}: {written} facts over {days} days")
