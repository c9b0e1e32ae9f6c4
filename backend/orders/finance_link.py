"""Where the orders and payments domains call the finance domain (ledger, reward
lifecycle, withdrawals) for completions, refunds and transfers; a payment's postings
are the paid-order follow-up's (paid.py). Every call runs inside the caller's unit of work,
under the order's row lock, so the money moves commit or roll back with the order's
state change. Finance's functions are idempotent (per order, order line, refund and
transfer bill); these adapters only translate our rows into their arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from backend.finance import service as finance
from backend.orders import paid

if TYPE_CHECKING:
    from backend.orders.models import Order, OrderLine, Refund
    from backend.wechat.pay import TransferBill


def order_completed(*, order: Order, now: datetime) -> None:
    """The order completed: its rewards settle after the tenant's after-sales window."""
    assert order.completed_at is not None
    paid.ensure_followed_up(order, now=now)
    finance.on_order_completed(tenant_id=order.tenant_id, order_id=order.id, completed_at=order.completed_at)


def lines_refunded(*, order: Order, refund: Refund, lines: Sequence[OrderLine], now: datetime) -> None:
    """Money went back to the buyer for these lines: the refund posted once per refund
    number, their rewards cancelled (frozen) or reversed (settled)."""
    paid.ensure_followed_up(order, now=now)
    finance.on_lines_refunded(tenant_id=order.tenant_id, order_id=order.id, order_line_ids=[ln.id for ln in lines],
                              now=now, refund_fen=refund.amount_fen, refund_key=refund.refund_no)


def transfer_finished(*, tenant_id: int, bill: TransferBill, now: datetime) -> str:
    """A merchant transfer (withdrawal payout) result that reached the orders notify URL."""
    from backend.finance.withdrawals import on_transfer_bill

    return on_transfer_bill(tenant_id=tenant_id, bill=bill, now=now)
