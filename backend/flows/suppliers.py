"""Where suppliers meet orders and payments: a supplier's view of its orders, its
shipping and its after-sales decisions (the checkout split and the income hooks are
listeners: supplier_events.py).

Each function is one sequence across domains, run in the caller's unit of work. The
order's row lock is taken before any sub-order's (the same order as the orders
domain's own paths), so a shipment, a refund and a payment of one order serialize.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.orders import service as orders
from backend.orders.errors import OrderStateConflict, RefundNotFound
from backend.orders.types import OrderStatus
from backend.payments import service as payments
from backend.suppliers import income as supplier_income
from backend.suppliers import service as suppliers
from backend.suppliers.errors import RefundNotSuppliers, SubOrderNotFound
from backend.suppliers.types import SubOrderStatus

SHIPPABLE = ("paid", "shipped", "received", "refunding")


def order_sub_orders(*, tenant_id: int, order_id: int) -> list[dict[str, Any]]:
    """An order's sub-orders (supplier, lines, shipment), for the buyer and the operator."""
    subs = suppliers.sub_orders_of(tenant_id=tenant_id, order_ids=[order_id])[order_id]
    if not subs:
        return []
    paid = {ln.id: ln.paid_fen for ln in orders.order_lines(tenant_id=tenant_id, order_ids=[order_id])[order_id]}
    return [suppliers.sub_order_view(s, sum(paid.get(i, 0) for i in s.line_ids)) for s in subs]


def _supplier_order_view(sub: Any, order: Any, lines: Sequence[Any], income: Sequence[Any]) -> dict[str, Any]:
    mine = set(sub.line_ids)
    view = orders.order_view(order, [ln for ln in lines if ln.id in mine])
    goods = sum(ln.paid_fen for ln in lines if ln.id in mine)
    return {**suppliers.sub_order_view(sub, goods), "order_no": order.order_no, "order_status": order.status,
            "receiver": view["receiver"], "remark": order.remark, "paid_at": view["paid_at"],
            "lines": view["lines"],
            "income": [supplier_income.income_view(r) for r in income if r.order_line_id in mine]}


def supplier_orders(*, tenant_id: int, supplier_id: int, status: str | None = None, before_id: int | None = None,
                    limit: int = 50) -> dict[str, Any]:
    """A supplier's sub-orders newest first, each with the order's state, the buyer's
    address and only its own lines and income. Unpaid and cancelled orders are left out
    of "to ship"."""
    subs = suppliers.list_sub_orders(tenant_id=tenant_id, supplier_id=supplier_id, status=status,
                                     before_id=before_id, limit=limit)
    ids = [s.order_id for s in subs]
    by_id = orders.orders_by_ids(tenant_id=tenant_id, order_ids=ids)
    lines = orders.order_lines(tenant_id=tenant_id, order_ids=ids)
    income = supplier_income.income_of_orders(tenant_id=tenant_id, order_ids=ids)
    items = [_supplier_order_view(s, by_id[s.order_id], lines[s.order_id], income[s.order_id]) for s in subs]
    return {"items": items, "next_cursor": subs[-1].id if len(subs) == limit and subs else None}


def supplier_order(*, tenant_id: int, supplier_id: int, sub_order_id: int) -> dict[str, Any]:
    """One of the supplier's sub-orders (another supplier's reads as not found)."""
    sub = suppliers.get_sub_order(tenant_id=tenant_id, sub_order_id=sub_order_id, supplier_id=supplier_id)
    order = orders.get_order(tenant_id=tenant_id, order_id=sub.order_id)
    lines = orders.order_lines(tenant_id=tenant_id, order_ids=[order.id])[order.id]
    income = supplier_income.income_of_orders(tenant_id=tenant_id, order_ids=[order.id])[order.id]
    return _supplier_order_view(sub, order, lines, income)


def ship(*, tenant_id: int, supplier_id: int, sub_order_id: int, company: str, tracking_no: str, actor: str,
         now: datetime) -> dict[str, Any]:
    """The supplier ships its sub-order. When every line of the order has been shipped by
    its supplier, the order itself is shipped (its tracking data: this last shipment)."""
    sub = suppliers.get_sub_order(tenant_id=tenant_id, sub_order_id=sub_order_id, supplier_id=supplier_id)
    order = orders.lock_order(tenant_id=tenant_id, order_id=sub.order_id)
    if order is None:
        raise SubOrderNotFound()
    if order.status not in SHIPPABLE:
        raise OrderStateConflict("订单未支付或已关闭，不能发货", details={"status": order.status})
    sub = suppliers.ship_sub_order(tenant_id=tenant_id, sub_order_id=sub_order_id, supplier_id=supplier_id,
                                   company=company, tracking_no=tracking_no, actor=actor, now=now)
    subs = suppliers.sub_orders_of(tenant_id=tenant_id, order_ids=[order.id])[order.id]
    lines = orders.order_lines(tenant_id=tenant_id, order_ids=[order.id])[order.id]
    covered = {lid for s in subs for lid in s.line_ids}
    everything_shipped = all(s.status == SubOrderStatus.SHIPPED for s in subs) and covered >= {ln.id for ln in lines}
    if everything_shipped and order.status == OrderStatus.PAID:
        orders.ship_order(tenant_id=tenant_id, order_id=order.id, company=company, tracking_no=sub.tracking_no or "",
                          actor=actor, now=now)
    return supplier_order(tenant_id=tenant_id, supplier_id=supplier_id, sub_order_id=sub.id)


def _own_refund(tenant_id: int, supplier_id: int, refund_id: int) -> Any:
    """The refund, when every line it covers is in one of this supplier's sub-orders."""
    try:
        refund = orders.get_refund(tenant_id=tenant_id, refund_id=refund_id)
    except RefundNotFound:
        raise RefundNotSuppliers() from None
    subs = [s for s in suppliers.sub_orders_of(tenant_id=tenant_id, order_ids=[refund.order_id])[refund.order_id]
            if s.supplier_id == supplier_id]
    mine = {lid for s in subs for lid in s.line_ids}
    if not subs or not set(refund.line_ids) <= mine:
        raise RefundNotSuppliers()
    return refund


def supplier_refunds(*, tenant_id: int, supplier_id: int, sub_order_id: int) -> list[dict[str, Any]]:
    """The after-sales requests on one of the supplier's sub-orders (those covering only its lines)."""
    sub = suppliers.get_sub_order(tenant_id=tenant_id, sub_order_id=sub_order_id, supplier_id=supplier_id)
    mine = set(sub.line_ids)
    return [orders.refund_view(r) for r in orders.list_refunds(tenant_id=tenant_id, order_id=sub.order_id)
            if set(r.line_ids) <= mine]


def decide_refund(*, tenant_id: int, supplier_id: int, refund_id: int, approve: bool, actor: str, now: datetime,
                  note: str = "") -> dict[str, Any]:
    """The supplier approves a buyer's after-sales request on its own lines (WeChat Pay
    refunds it once committed) or rejects it with a reason; audited by orders.
    A request covering other suppliers' lines is the operator's."""
    _own_refund(tenant_id, supplier_id, refund_id)
    if approve:
        refund = payments.approve_refund(tenant_id=tenant_id, refund_id=refund_id, actor=actor)
    else:
        refund = orders.reject_refund(tenant_id=tenant_id, refund_id=refund_id, actor=actor, now=now, note=note)
    return orders.refund_view(refund)
