"""What the suppliers do when orders announce something (backend/events.py), all in
the announcer's unit of work (under the order's row lock):

- an order placed → one sub-order per supplier among its lines (拆单), and paid with
  profit sharing (分账) where the tenant enables it and a supplier can receive;
- orders paid and followed up (rewards recorded) → each supplier line's income frozen,
  net of the commission and, where the tenant says so, of the rewards on it;
- an order completed → its income settles after the after-sales window;
- a refund about to go to WeChat Pay → the shares already split for its lines come
  back first (分账回退), or the refund waits;
- lines refunded → their income cancelled (frozen) or reversed (settled); an order paid
  for sharing with nothing left to split gets its remainder unfrozen.

Tenants without suppliers pay one indexed read per announcement (an order placed:
one per process every couple of seconds, suppliers.has_suppliers_kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.db import after_commit
from backend.events import listen
from backend.finance import service as finance
from backend.orders import service as orders
from backend.orders.types import OrderStatus
from backend.suppliers import income as supplier_income
from backend.suppliers import service as suppliers
from backend.suppliers import sharing


@listen("order_placed")
def split_into_sub_orders(*, order: Any, now: datetime) -> None:
    if not suppliers.has_suppliers_kept(tenant_id=order.tenant_id):
        return
    lines = orders.order_lines(tenant_id=order.tenant_id, order_ids=[order.id])[order.id]
    subs = suppliers.split_order(tenant_id=order.tenant_id, order_id=order.id, order_no=order.order_no, now=now,
                                 lines=[suppliers.LineFact(ln.id, ln.product_id) for ln in lines])
    if sharing.wants_sharing(tenant_id=order.tenant_id, supplier_ids=[s.supplier_id for s in subs]):
        orders.mark_profit_sharing(tenant_id=order.tenant_id, order_id=order.id)


@listen("orders_followed_up")
def freeze_supplier_income(*, tenant_id: int, order_ids: Sequence[int], now: datetime) -> None:
    if not suppliers.has_suppliers(tenant_id=tenant_id):
        return
    lines = orders.order_lines(tenant_id=tenant_id, order_ids=order_ids)
    rewards = finance.rewards_by_line(tenant_id=tenant_id, order_ids=order_ids)
    supplier_income.on_orders_paid(tenant_id=tenant_id, now=now, orders=[supplier_income.PaidOrderLines(
        oid, [supplier_income.PaidLine(ln.id, ln.product_id, ln.paid_fen) for ln in lines[oid]],
        {ln.id: rewards.get(ln.id, 0) for ln in lines[oid]}) for oid in order_ids])


@listen("order_completed")
def schedule_supplier_settlement(*, order: Any, now: datetime) -> None:
    supplier_income.on_order_completed(tenant_id=order.tenant_id, order_id=order.id,
                                       completed_at=order.completed_at or now)


@listen("refund_submitting")
def return_shares_first(*, order: Any, refund: Any, now: datetime) -> None:
    if order.profit_sharing:
        sharing.return_shares(tenant_id=order.tenant_id, order_id=order.id, refund_no=refund.refund_no,
                              order_line_ids=list(refund.line_ids), now=now)


@listen("lines_refunded")
def void_supplier_income(*, order: Any, refund: Any, lines: Sequence[Any], now: datetime) -> None:
    supplier_income.on_lines_refunded(tenant_id=order.tenant_id, order_line_ids=[ln.id for ln in lines], now=now)
    if order.profit_sharing and order.transaction_id and order.status != OrderStatus.REFUNDED:
        # Nothing left to split (the suppliers' lines refunded before settlement): the
        # rest of the payment is released at WeChat Pay instead of waiting for a split.
        sharing_id = sharing.plan_unfreeze(tenant_id=order.tenant_id, order_id=order.id, order_no=order.order_no,
                                           transaction_id=order.transaction_id, now=now)
        if sharing_id is not None:
            tenant_id = order.tenant_id
            after_commit(lambda: sharing.send_unfreeze(tenant_id=tenant_id, sharing_id=sharing_id, now=now))
