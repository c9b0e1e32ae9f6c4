"""`flask warehouse check [--tenant SLUG] [--as-json]`: rebuild every cloud-stock
balance from the pieces ledger and compare; exit 1 when anything is off."""

from __future__ import annotations

import json

import click

from backend.db import unit_of_work
from backend.tenants.service import get_tenant_by_slug, list_tenants


@click.group("warehouse")
def cli() -> None:
    """The cloud warehouse's pieces ledger."""


@cli.command("check")
@click.option("--tenant", "slug", default=None, help="one tenant (slug); default every tenant")
@click.option("--as-json", "as_json", is_flag=True, help="print one JSON report per tenant")
def check(slug: str | None, as_json: bool) -> None:
    """Balances equal the sum of their entries, postings sum to zero, no agent below zero."""
    from backend.warehouse.service import check as check_tenant

    if slug:
        tenants = [get_tenant_by_slug(slug=slug)]
    else:
        tenants, after = [], 0
        while True:
            batch = list_tenants(limit=500, after_id=after)
            tenants.extend(batch)
            if len(batch) < 500:
                break
            after = batch[-1].id
    bad = 0
    for t in tenants:
        with unit_of_work():  # one snapshot for the entries and the balances
            report = check_tenant(tenant_id=t.id)
        bad += int(not report.ok)
        if as_json:
            click.echo(json.dumps({"tenant": t.slug, "ok": report.ok, "balances": report.balances,
                                   "postings": report.postings, "differences": report.differences,
                                   "unbalanced_postings": report.unbalanced_postings,
                                   "negative": report.negative}, ensure_ascii=False))
        elif report.ok:
            click.echo(f"{t.slug}: OK — {report.balances} balances equal the ledger ({report.postings} postings)")
        else:
            click.echo(f"{t.slug}: MISMATCH — {len(report.differences)} balances differ from the ledger, "
                       f"{len(report.unbalanced_postings)} unbalanced postings, {len(report.negative)} negative")
            for d in report.differences:
                click.echo(f"  balance {d['balance_id']}: stored {d['balance']}, ledger {d['entries']}")
    if bad:
        raise SystemExit(1)
