"""Scheduled entry points of the payments domain (listed by the scheduler, backend/jobs.py).

Each finds due orders or refunds with one indexed read, then handles every one in its
own unit of work under the order's row lock, so a crash or a second scheduler leaves
nothing half done and nothing done twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from backend.db import run_in_unit_of_work
from backend.errors import DomainError
from backend.extensions import db
from backend.orders import service as orders
from backend.payments import service as payments

log = logging.getLogger(__name__)

BATCH = 500
INTERVALS = {"cancel_unpaid_orders": 60, "retry_refund_submissions": 120}


def cancel_unpaid_orders(*, now: datetime) -> int:
    """Cancel orders left unpaid past their deadline (closing the payment at WeChat Pay
    first) and return their stock; returns how many were cancelled."""
    due = orders.unpaid_past_deadline(now=now, limit=BATCH)
    db.session.rollback()
    cancelled = 0
    for tenant_id, order_id in due:
        try:
            result = run_in_unit_of_work(
                partial(payments.expire_unpaid, tenant_id=tenant_id, order_id=order_id, now=now))
        except DomainError as exc:  # WeChat unreachable: the next run tries again
            log.warning("order %s not expired: %s", order_id, exc.code)
            continue
        cancelled += result == "cancelled"
    return cancelled


def retry_refund_submissions(*, now: datetime) -> int:
    """Send again approved refunds WeChat Pay has not accepted (it was unreachable);
    returns how many were accepted now."""
    due = payments.unsubmitted_refunds(now=now)
    db.session.rollback()
    accepted = 0
    for tenant_id, refund_id in due:
        refund = run_in_unit_of_work(
            partial(payments.submit_refund, tenant_id=tenant_id, refund_id=refund_id, now=now))
        accepted += refund.submitted_at is not None
    return accepted
