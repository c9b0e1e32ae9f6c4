"""The ledger's scheduled check: once a day every tenant's balances are rebuilt from
their entries and compared (reads only); the verdict goes to /metrics
(siyu_ledger_check_ok), so an operator is paged on a mismatch instead of finding it."""

from __future__ import annotations

from datetime import datetime

from backend.db import unit_of_work
from backend.extensions import db, get_redis
from backend.ledger.service import check_ledger
from backend.observability.metrics import record_ledger_check
from backend.tenants.service import list_tenants

INTERVALS = {"check_balances": 24 * 3600}


def check_balances(*, now: datetime) -> int:
    """Check every tenant's ledger; returns how many tenants are off (also recorded)."""
    bad = tenants = 0
    after = 0
    while True:
        batch = list_tenants(limit=500, after_id=after)
        for tenant in batch:
            with unit_of_work():  # one snapshot per tenant
                report = check_ledger(tenant_id=tenant.id)
            db.session.remove()
            tenants += 1
            bad += 0 if report.ok else 1
        if len(batch) < 500:
            break
        after = batch[-1].id
    record_ledger_check(get_redis(), ok=not bad, tenants=tenants, bad=bad, at=now.timestamp())
    return bad
