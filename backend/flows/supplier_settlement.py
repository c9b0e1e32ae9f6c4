"""Settlement of suppliers' income (the after-sales window passed): into the suppliers'
balances, or, for an order paid for profit sharing (分账), split at WeChat Pay to the
suppliers' own merchant accounts. Needs the order's payment (orders) and the
suppliers' income and shares (suppliers), hence a flow.
"""

from __future__ import annotations

import logging
from datetime import datetime

from backend.db import read_committed, run_in_unit_of_work, unit_of_work
from backend.orders import service as orders
from backend.suppliers import income, sharing

log = logging.getLogger(__name__)

BATCH = 200


def settle_batch(*, tenant_id: int, now: datetime, limit: int = BATCH) -> tuple[int, list[int], list[int]]:
    """Up to `limit` due income rows of a tenant (locked): split orders paid for profit
    sharing go in transit, the rest into the balances. Returns (rows handled, sharing
    order ids to submit once this commits, unfreezes to send: orders paid for sharing
    with nothing to split)."""
    rows = income.due_income(tenant_id=tenant_id, now=now, limit=limit)
    if not rows:
        return 0, [], []
    order_ids = sorted({r.order_id for r in rows})
    by_id = orders.orders_by_ids(tenant_id=tenant_id, order_ids=order_ids)
    to_balance = []
    requested = []
    maybe_unfreeze = []
    for oid in order_ids:
        own = [r for r in rows if r.order_id == oid]
        o = by_id.get(oid)
        if o is not None and o.profit_sharing and o.transaction_id:
            rest, sharing_id = sharing.request_split(tenant_id=tenant_id, order_id=oid, order_no=o.order_no,
                                                     transaction_id=o.transaction_id, rows=own, now=now)
            to_balance += rest
            if sharing_id is not None:
                requested.append(sharing_id)
            else:
                maybe_unfreeze.append((o, o.transaction_id))
        else:
            to_balance += own
    income.settle_to_balance(tenant_id=tenant_id, rows=to_balance, now=now)
    unfreezes = [u for o, transaction_id in maybe_unfreeze for u in [sharing.plan_unfreeze(
        tenant_id=tenant_id, order_id=o.id, order_no=o.order_no, transaction_id=transaction_id, now=now)]
        if u is not None]
    return len(rows), requested, unfreezes


def settle_due(*, now: datetime) -> int:
    """Every tenant's due supplier income, batch by batch (each its own unit of work,
    rows locked so two runners never take one twice); splits are sent to WeChat Pay
    after their batch commits (a failure there is retried by the reconcile job)."""
    with unit_of_work():
        tenants = income.due_tenants(now=now)
    total = 0
    for tenant_id in tenants:
        while True:
            def batch(t: int = tenant_id) -> tuple[int, list[int], list[int]]:
                read_committed()
                return settle_batch(tenant_id=t, now=now)

            n, requested, unfreezes = run_in_unit_of_work(batch)
            for sharing_id in requested:
                try:
                    sharing.submit_split(tenant_id=tenant_id, sharing_id=sharing_id, now=now)
                except Exception:  # the reconcile job sends it again
                    log.exception("profit-sharing order %s not submitted", sharing_id)
            for sharing_id in unfreezes:
                try:
                    sharing.send_unfreeze(tenant_id=tenant_id, sharing_id=sharing_id, now=now)
                except Exception:
                    log.exception("unfreeze %s not sent", sharing_id)
            total += n
            if n < BATCH:
                break
    return total


def reconcile_sharing(*, now: datetime) -> int:
    """Splits waiting for a result: asked again (or re-sent) at WeChat Pay."""
    with unit_of_work():
        due = sharing.waiting(now=now)
    for tenant_id, sharing_id in due:
        try:
            sharing.reconcile(tenant_id=tenant_id, sharing_id=sharing_id, now=now)
        except Exception:
            log.exception("reconciling profit-sharing order %s failed", sharing_id)
    return len(due)
