"""`flask ledger check [--tenant SLUG] [--fix]`: rebuild every balance from the entries,
report the differences, check that postings and tenants sum to zero."""

from __future__ import annotations

import json

import click

from backend.db import unit_of_work
from backend.extensions import db, get_redis
from backend.observability.metrics import record_ledger_check
from backend.tenants.service import get_tenant_by_slug, list_tenants


@click.group("ledger")
def cli() -> None:
    """The double-entry ledger."""


def _tenants(slug: str | None) -> list[tuple[int, str]]:
    if slug:
        t = get_tenant_by_slug(slug=slug)
        return [(t.id, t.slug)]
    out: list[tuple[int, str]] = []
    after = 0
    while True:
        batch = list_tenants(limit=500, after_id=after)
        out.extend((t.id, t.slug) for t in batch)
        if len(batch) < 500:
            return out
        after = batch[-1].id


@cli.command("check")
@click.option("--tenant", "slug", default=None, help="one tenant (slug); default every tenant")
@click.option("--fix", is_flag=True, help="rewrite differing balances from the entries")
@click.option("--as-json", "as_json", is_flag=True, help="print one JSON report per tenant")
def check(slug: str | None, fix: bool, as_json: bool) -> None:
    """Rebuild balances from entries and compare; exit 1 when anything is off."""
    from backend.ledger.service import check_ledger, fix_account_balance

    bad = 0
    tenants = _tenants(slug)
    for tenant_id, tenant_slug in tenants:
        with unit_of_work():  # one snapshot for entries and balances
            report = check_ledger(tenant_id=tenant_id)
        to_fix = sorted({d.account_id for d in report.differences} | set(report.accounts_missing_shards))
        if fix and to_fix:
            for account_id in to_fix:
                with unit_of_work():  # the lock is the unit's first statement (see fix_account_balance)
                    report.fixed += int(fix_account_balance(tenant_id=tenant_id, account_id=account_id))
            with unit_of_work():
                after = check_ledger(tenant_id=tenant_id)
            after.fixed = report.fixed
            report = after
        db.session.remove()
        if not report.ok:
            bad += 1
        if as_json:
            click.echo(json.dumps({"tenant": tenant_slug, **report.as_dict()}, ensure_ascii=False))
            continue
        verdict = "ok" if report.ok else "MISMATCH"
        click.echo(f"{tenant_slug}: {verdict} accounts={report.accounts} postings={report.postings} "
                   f"entries={report.entries} sum={report.entries_total_fen} "
                   f"balances_sum={report.balances_total_fen}"
                   + (f" fixed={report.fixed}" if fix else ""))
        for d in report.differences:
            click.echo(f"  account {d.account_id} {d.kind}:{d.owner_key} balance={d.balance_fen} "
                       f"entries={d.entries_fen} diff={d.balance_fen - d.entries_fen}")
        if report.unbalanced_postings:
            click.echo(f"  unbalanced postings: {report.unbalanced_postings[:20]}")
        if report.missing_shards:
            click.echo(f"  missing balance shards: {report.missing_shards}")
    if slug is None:  # a whole check is what /metrics reports (siyu_ledger_check_ok)
        record_ledger_check(get_redis(), ok=not bad, tenants=len(tenants), bad=bad)
    if bad:
        raise SystemExit(1)
