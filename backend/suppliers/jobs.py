"""Scheduled supplier work (run by `python -m backend.jobs`)."""

from __future__ import annotations

from datetime import datetime

from backend.db import read_committed, run_in_unit_of_work, unit_of_work
from backend.suppliers import income

INTERVALS = {"settle_supplier_income": 300}
BATCH = 200


def settle_supplier_income(*, now: datetime) -> int:
    """Move suppliers' frozen income whose after-sales window has passed to their
    available balances, tenant by tenant, in batches (rows locked, so two runners never
    settle one twice)."""
    with unit_of_work():
        tenants = income.due_tenants(now=now)
    total = 0
    for tenant_id in tenants:
        while True:
            def batch(t: int = tenant_id) -> int:
                read_committed()
                return income.settle_to_balance(tenant_id=t, now=now,
                                                rows=income.due_income(tenant_id=t, now=now, limit=BATCH))

            n = run_in_unit_of_work(batch)
            total += n
            if n < BATCH:
                break
    return total
