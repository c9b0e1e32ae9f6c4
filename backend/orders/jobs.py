"""Scheduled entry points of the orders domain (listed by the scheduler, backend/jobs.py).

Each finds due orders with one indexed read, then handles every order in its own
unit of work under the order's row lock, so a crash or a second scheduler leaves
nothing half done and nothing done twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select

from backend.db import run_in_unit_of_work
from backend.errors import DomainError
from backend.extensions import db
from backend.orders import service as orders
from backend.orders.models import Order
from backend.orders.types import OrderStatus

log = logging.getLogger(__name__)

BATCH = 500
INTERVALS = {"complete_due_orders": 300}
# Unpaid orders are cancelled and refunds resubmitted by backend/payments/jobs.py (they
# talk to WeChat Pay); the paid-order follow-up's job is backend/flows/jobs.py.


def complete_due_orders(*, now: datetime) -> int:
    """Complete received orders, and shipped orders whose buyer did nothing for the
    tenant's auto_complete_days; returns how many were completed."""
    received = list(db.session.execute(select(Order.tenant_id, Order.id).where(
        Order.status == OrderStatus.RECEIVED).order_by(Order.id).limit(BATCH)))
    tenants = list(db.session.scalars(select(Order.tenant_id).where(Order.status == OrderStatus.SHIPPED).distinct()))
    shipped = []
    for tenant_id in tenants:
        days = orders.order_policy(tenant_id=tenant_id).auto_complete_days
        shipped += list(db.session.execute(select(Order.tenant_id, Order.id).where(
            Order.status == OrderStatus.SHIPPED, Order.tenant_id == tenant_id,
            Order.shipped_at <= now - timedelta(days=days)).order_by(Order.id).limit(BATCH)))
    db.session.rollback()
    done = 0
    for tenant_id, order_id in received + shipped:
        try:
            run_in_unit_of_work(partial(orders.complete_order, tenant_id=tenant_id, order_id=order_id, now=now))
        except DomainError as exc:  # changed state meanwhile (refund opened)
            log.info("order %s not completed: %s", order_id, exc.code)
            continue
        done += 1
    return done
