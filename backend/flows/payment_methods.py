"""Paying an order other than all through WeChat Pay (SPEC §5, §6):

- stored value (余额支付), in whole or in part: the member's stored value pays first
  (a ledger posting: stored → merchant), WeChat Pay is asked for the rest, and an order
  stored value covers in full is paid at once; an unpaid order cancelled later gives
  the stored value back;
- offline (线下支付): finance records money received by bank transfer with its
  reference and voucher (offline clearing → merchant), audited; the order then flows
  as any paid order (the paid-order follow-up: binding, rewards, alerts).

A refund goes back the way the money came: WeChat Pay's part first (payments), then
stored value, then offline (orders.refund_parts); this flow posts the non-WeChat parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.audit.service import record_audit
from backend.events import listen
from backend.finance import service as finance
from backend.orders import service as orders
from backend.orders.errors import InvalidOrderInput, OrderNotFound, OrderStateConflict
from backend.orders.types import OrderStatus


def pay_with_stored_value(*, tenant_id: int, member_id: int, order_id: int, amount_fen: int | None,
                          now: datetime) -> dict[str, Any]:
    """The buyer's stored value pays amount_fen of the unpaid order (all of it when None);
    409 insufficient_balance when it does not cover it. Returns what is left for WeChat Pay."""
    order = orders.get_order(tenant_id=tenant_id, order_id=order_id, member_id=member_id)
    payable = orders.lock_for_payment(tenant_id=tenant_id, order_no=order.order_no)
    if payable is None:
        raise OrderNotFound()
    if payable.status != OrderStatus.CREATED:
        raise OrderStateConflict(details={"status": payable.status})
    orders.check_payable(order, now=now)
    amount = payable.payable_fen if amount_fen is None else amount_fen
    if not 1 <= amount <= payable.payable_fen:
        raise InvalidOrderInput(details=[{"field": "amount_fen", "message": "余额支付金额须在 1 分到订单应付金额之间"}])
    orders.apply_stored_value(tenant_id=tenant_id, order=payable, amount_fen=amount, now=now)
    finance.pay_with_stored_value(tenant_id=tenant_id, member_id=member_id, order_id=order.id, amount_fen=amount,
                                  now=now)
    paid = amount == payable.payable_fen
    if paid:
        orders.mark_paid(tenant_id=tenant_id, order=payable, transaction_id=None, paid_fen=0, paid_at=now, now=now)
    return {"order_id": order.id, "order_no": order.order_no, "stored_fen": amount,
            "wechat_due_fen": payable.payable_fen - amount, "paid": paid}


def record_offline_payment(*, tenant_id: int, order_id: int, reference: str, voucher_url: str | None,
                           actor: str, now: datetime) -> dict[str, Any]:
    """Finance marks an unpaid order paid with a transfer voucher (audited); the order
    then flows as any paid order."""
    order = orders.get_order(tenant_id=tenant_id, order_id=order_id)
    payable = orders.lock_for_payment(tenant_id=tenant_id, order_no=order.order_no)
    if payable is None:
        raise OrderNotFound()
    amount = orders.mark_paid_offline(tenant_id=tenant_id, order=payable, reference=reference,
                                      voucher_url=voucher_url, now=now)
    finance.record_offline_payment(tenant_id=tenant_id, order_id=order.id, amount_fen=amount, reference=reference,
                                   now=now)
    record_audit(tenant_id=tenant_id, actor=actor, action="order.offline_payment", target_type="order",
                 target_id=order.id, before={"status": OrderStatus.CREATED},
                 after={"status": OrderStatus.PAID, "offline_fen": amount, "reference": reference, "voucher_url": voucher_url})
    return {"order_id": order.id, "order_no": order.order_no, "offline_fen": amount, "reference": reference}


@listen("order_cancelled")
def return_stored_value(*, order: Any, now: datetime) -> None:
    """An unpaid order cancelled (timeout or buyer): the stored value it took goes back."""
    if order.stored_fen and order.paid_at is None:
        finance.refund_stored_value(tenant_id=order.tenant_id, member_id=order.member_id, order_id=order.id,
                                    amount_fen=order.stored_fen, refund_key=f"cancel:{order.id}", now=now)


@listen("lines_refunded")
def refund_other_parts(*, order: Any, refund: Any, lines: Sequence[Any], now: datetime) -> None:
    """The refund's stored-value part back to the buyer's stored value, its offline part
    recorded as returned (WeChat Pay's part is order_money's)."""
    if refund.stored_fen:
        finance.refund_stored_value(tenant_id=order.tenant_id, member_id=order.member_id, order_id=order.id,
                                    amount_fen=refund.stored_fen, refund_key=refund.refund_no, now=now)
    if refund.offline_fen:
        finance.record_offline_refund(tenant_id=order.tenant_id, order_id=order.id, amount_fen=refund.offline_fen,
                                      refund_key=refund.refund_no, now=now)
