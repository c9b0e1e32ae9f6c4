"""Scheduled entry points of the orders domain (listed by the scheduler, backend/jobs.py).

Each finds due orders with one indexed read, then handles every order in its own
unit of work under the order's row lock, so a crash or a second scheduler leaves
nothing half done and nothing done twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from backend.db import run_in_unit_of_work
from backend.errors import DomainError
from backend.extensions import db
from backend.orders import paid
from backend.orders import service as orders
from backend.orders.models import Order
from backend.payments import service as payments

log = logging.getLogger(__name__)

BATCH = 500
INTERVALS = {"cancel_unpaid_orders": 60, "complete_due_orders": 300, "retry_refund_submissions": 120,
             "follow_up_paid_orders": 0.1}


def follow_up_paid_orders(*, now: datetime) -> int:
    """Drain the paid-order follow-up backlog (rewards, ledger, alerts) in batches: all
    of it under PAID_FOLLOWUP=worker, and any inline run a crash cut short; returns how
    many orders it followed up."""
    return paid.drain()


def cancel_unpaid_orders(*, now: datetime) -> int:
    """Cancel orders left unpaid past their deadline (closing the payment at WeChat Pay
    first) and return their stock; returns how many were cancelled."""
    due = list(db.session.execute(select(Order.tenant_id, Order.id).where(
        Order.status == "created", Order.pay_deadline <= now).order_by(Order.pay_deadline).limit(BATCH)))
    db.session.rollback()
    cancelled = 0
    for tenant_id, order_id in due:
        try:
            result = run_in_unit_of_work(
                lambda t=tenant_id, o=order_id: payments.expire_unpaid(tenant_id=t, order_id=o, now=now))
        except DomainError as exc:  # WeChat unreachable: the next run tries again
            log.warning("order %s not expired: %s", order_id, exc.code)
            continue
        cancelled += result == "cancelled"
    return cancelled


def complete_due_orders(*, now: datetime) -> int:
    """Complete received orders, and shipped orders whose buyer did nothing for the
    tenant's auto_complete_days; returns how many were completed."""
    received = list(db.session.execute(select(Order.tenant_id, Order.id).where(
        Order.status == "received").order_by(Order.id).limit(BATCH)))
    tenants = list(db.session.scalars(select(Order.tenant_id).where(Order.status == "shipped").distinct()))
    shipped = []
    for tenant_id in tenants:
        days = orders.order_policy(tenant_id=tenant_id).auto_complete_days
        shipped += list(db.session.execute(select(Order.tenant_id, Order.id).where(
            Order.status == "shipped", Order.tenant_id == tenant_id,
            Order.shipped_at <= now - timedelta(days=days)).order_by(Order.id).limit(BATCH)))
    db.session.rollback()
    done = 0
    for tenant_id, order_id in received + shipped:
        try:
            run_in_unit_of_work(lambda t=tenant_id, o=order_id: orders.complete_order(tenant_id=t, order_id=o, now=now))
        except DomainError as exc:  # changed state meanwhile (refund opened)
            log.info("order %s not completed: %s", order_id, exc.code)
            continue
        done += 1
    return done


def retry_refund_submissions(*, now: datetime) -> int:
    """Send again approved refunds WeChat Pay has not accepted (it was unreachable);
    returns how many were accepted now."""
    due = payments.unsubmitted_refunds(now=now)
    db.session.rollback()
    accepted = 0
    for tenant_id, refund_id in due:
        refund = run_in_unit_of_work(
            lambda t=tenant_id, r=refund_id: payments.submit_refund(tenant_id=t, refund_id=r, now=now))
        accepted += refund.submitted_at is not None
    return accepted
