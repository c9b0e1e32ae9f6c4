"""Scheduled entry points of SCRM (listed by the scheduler, backend/jobs.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from backend.db import run_in_unit_of_work
from backend.extensions import db
from backend.scrm import orders_port, service, tags

log = logging.getLogger(__name__)

# Buyers are looked back over this window each run; tagging is idempotent, so a run
# every 10 minutes with a 30-minute window misses nothing a slow commit paid late.
BUYER_WINDOW = timedelta(minutes=30)
MAX_BUYERS = 20_000
INTERVALS = {"notify_due_follow_ups": 60, "tag_recent_buyers": 600}


def notify_due_follow_ups(*, now: datetime) -> int:
    """Tell staff about follow-up reminders that fell due; returns how many reminders."""
    return run_in_unit_of_work(lambda: service.notify_due_reminders(now=now))


def tag_recent_buyers(*, now: datetime) -> int:
    """Apply purchase tag rules to customers with an order paid in the last window;
    returns how many tags were added."""
    buyers = orders_port.recent_buyers(since=now - BUYER_WINDOW, limit=MAX_BUYERS)
    db.session.rollback()
    per_tenant: dict[int, list[int]] = {}
    for tenant_id, member_id in buyers:
        per_tenant.setdefault(tenant_id, []).append(member_id)
    added = 0
    for tenant_id, member_ids in per_tenant.items():
        for i in range(0, len(member_ids), 500):
            chunk = member_ids[i:i + 500]
            added += run_in_unit_of_work(partial(tags.apply_purchase_rules,
                tenant_id=tenant_id, member_ids=chunk, now=now))
    return added
