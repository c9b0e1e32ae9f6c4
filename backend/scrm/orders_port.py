"""SCRM's one window onto the orders domain: purchases per member, sales per owner per day.

Orders count once paid (`paid_at` set) and not wholly refunded; amounts are net of
refunds. Until the orders domain exists these answer "nothing bought".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from types import ModuleType

from sqlalchemy import and_, case, func, or_, select

from backend.extensions import db
from backend.scrm.models import Customer, Ownership
from backend.scrm.rules import PurchaseFacts


def _orders() -> ModuleType | None:
    try:
        from backend.orders import models
    except ModuleNotFoundError as exc:
        if exc.name not in ("backend.orders", "backend.orders.models"):
            raise
        return None
    return models


def purchase_facts(*, tenant_id: int, member_ids: Sequence[int]) -> dict[int, PurchaseFacts]:
    """Paid orders, net paid fen and products bought, per member (two grouped queries)."""
    m = _orders()
    if m is None or not member_ids:
        return {}
    Order, OrderLine = m.Order, m.OrderLine  # noqa: N806
    counted = and_(Order.tenant_id == tenant_id, Order.member_id.in_(list(member_ids)),
                   Order.paid_at.is_not(None), Order.status != "refunded")
    totals = {mid: (n, int(fen or 0)) for mid, n, fen in db.session.execute(
        select(Order.member_id, func.count(), func.sum(Order.paid_fen - Order.refunded_fen))
        .where(counted).group_by(Order.member_id))}
    products: dict[int, set[int]] = {}
    for mid, pid in db.session.execute(
            select(Order.member_id, OrderLine.product_id).distinct()
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(counted, OrderLine.status != "refunded")):
        products.setdefault(mid, set()).add(pid)
    return {mid: PurchaseFacts(order_count=n, total_fen=fen,
                               product_ids=frozenset(products.get(mid, ())))
            for mid, (n, fen) in totals.items()}


def recent_buyers(*, since: datetime, limit: int) -> list[tuple[int, int]]:
    """(tenant id, member id) of members with an order paid since `since`, across tenants."""
    m = _orders()
    if m is None:
        return []
    Order = m.Order  # noqa: N806
    return [(t, mid) for t, mid in db.session.execute(
        select(Order.tenant_id, Order.member_id).where(Order.paid_at >= since).distinct()
        .order_by(Order.tenant_id, Order.member_id).limit(limit))]


def sales_by_owner(*, tenant_id: int, days: Sequence[date], bounds: Sequence[datetime]
                   ) -> list[tuple[int, date, int, int]]:
    """(staff id, day, paid orders, net paid fen) of orders paid in [bounds[0], bounds[-1])
    by customers the staff member owned at the moment of payment; `bounds[i]` is where
    `days[i]` starts. One grouped query over orders ⋈ customers ⋈ ownership periods."""
    m = _orders()
    if m is None or not days:
        return []
    Order = m.Order  # noqa: N806
    day_of = case(*[(Order.paid_at < bounds[i + 1], i) for i in range(len(days))], else_=-1)
    rows = db.session.execute(
        select(Ownership.staff_id, day_of.label("d"), func.count(),
               func.sum(Order.paid_fen - Order.refunded_fen))
        .select_from(Order)
        .join(Customer, and_(Customer.tenant_id == tenant_id, Customer.member_id == Order.member_id))
        .join(Ownership, and_(Ownership.tenant_id == tenant_id,
                              Ownership.customer_id == Customer.id,
                              Ownership.started_at <= Order.paid_at,
                              or_(Ownership.ended_at.is_(None), Ownership.ended_at > Order.paid_at)))
        .where(Order.tenant_id == tenant_id, Order.paid_at >= bounds[0],
               Order.paid_at < bounds[-1], Order.status != "refunded")
        .group_by(Ownership.staff_id, "d"))
    return [(staff_id, days[d], n, int(fen or 0)) for staff_id, d, n, fen in rows if d >= 0]
