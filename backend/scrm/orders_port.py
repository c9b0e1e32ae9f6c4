"""SCRM's one window onto the orders domain: purchases per member, sales per owner per day.

Orders count once paid (`paid_at` set) and not wholly refunded; amounts are net of
refunds. Everything is read through backend.orders.service; the sales per owner join
the SCRM's own tables to the orders' read-only subquery in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select

from backend.extensions import db
from backend.orders import service as orders
from backend.scrm.models import Customer, Ownership
from backend.scrm.rules import PurchaseFacts


def purchase_facts(*, tenant_id: int, member_ids: Sequence[int]) -> dict[int, PurchaseFacts]:
    """Paid orders, net paid fen and products bought, per member (two grouped queries)."""
    return {mid: PurchaseFacts(order_count=t.paid_orders, total_fen=t.paid_fen, product_ids=t.product_ids)
            for mid, t in orders.purchase_summary(tenant_id=tenant_id, member_ids=member_ids).items()}


def recent_buyers(*, since: datetime, limit: int) -> list[tuple[int, int]]:
    """(tenant id, member id) of members with an order paid since `since`, across tenants."""
    return orders.recent_buyers(since=since, limit=limit)


def sales_by_owner(*, tenant_id: int, days: Sequence[date], bounds: Sequence[datetime]
                   ) -> list[tuple[int, date, int, int]]:
    """(staff id, day, paid orders, net paid fen) of orders paid in [bounds[0], bounds[-1])
    by customers the staff member owned at the moment of payment; `bounds[i]` is where
    `days[i]` starts. One grouped query over orders ⋈ customers ⋈ ownership periods."""
    if not days:
        return []
    kept = orders.kept_orders_paid_between(tenant_id=tenant_id, start=bounds[0], end=bounds[-1])
    day_of = case(*[(kept.c.paid_at < bounds[i + 1], i) for i in range(len(days))], else_=-1)
    rows = db.session.execute(
        select(Ownership.staff_id, day_of.label("d"), func.count(), func.sum(kept.c.net_fen))
        .select_from(kept)
        .join(Customer, and_(Customer.tenant_id == tenant_id, Customer.member_id == kept.c.member_id))
        .join(Ownership, and_(Ownership.tenant_id == tenant_id,
                              Ownership.customer_id == Customer.id,
                              Ownership.started_at <= kept.c.paid_at,
                              or_(Ownership.ended_at.is_(None), Ownership.ended_at > kept.c.paid_at)))
        .group_by(Ownership.staff_id, "d"))
    return [(staff_id, days[d], n, int(fen or 0)) for staff_id, d, n, fen in rows if d >= 0]
