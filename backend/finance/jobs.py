"""Scheduled finance work (run by `python -m backend.jobs`)."""

from __future__ import annotations

import logging
from datetime import datetime

from backend.db import read_committed, run_in_unit_of_work, unit_of_work

log = logging.getLogger(__name__)

INTERVALS = {"settle_due_rewards": 300, "reconcile_withdrawals": 120, "credit_reward_bonuses": 60}
SETTLE_BATCH = 200


def settle_due_rewards(*, now: datetime) -> int:
    """Move frozen rewards whose after-sales window has passed to the available balance,
    tenant by tenant, in batches that each advance the tenant's high-water mark."""
    from backend.finance.service import due_tenants, settle_due_batch

    with unit_of_work():
        tenants = due_tenants(now=now)
    total = 0
    for tenant_id in tenants:
        while True:
            def batch(t: int = tenant_id) -> int:
                read_committed()
                return settle_due_batch(tenant_id=t, now=now, limit=SETTLE_BATCH)

            n = run_in_unit_of_work(batch)
            total += n
            if n < SETTLE_BATCH:
                break
    return total


def reconcile_withdrawals(*, now: datetime) -> int:
    """Start transfers of approved withdrawals that did not start (WeChat was down, the
    process died) and ask WeChat Pay about transfers waiting too long for a final state."""
    from backend.finance.withdrawals import reconcile_payout, stuck_withdrawals

    with unit_of_work():
        stuck = stuck_withdrawals(now=now)
    for tenant_id, withdrawal_id in stuck:
        try:
            reconcile_payout(tenant_id=tenant_id, withdrawal_id=withdrawal_id, now=now)
        except Exception:  # one bad withdrawal must not stop the others
            log.exception("reconciling withdrawal %s failed", withdrawal_id)
    return len(stuck)


def credit_reward_bonuses(*, now: datetime) -> int:
    """Post referral and team bonuses recorded by the rewards service to the members'
    available balances (once each)."""
    from backend.finance.service import credit_recorded_bonuses

    return run_in_unit_of_work(lambda: credit_recorded_bonuses(now=now))
