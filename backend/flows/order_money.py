"""What an order's announcements set off in finance: the paid-order follow-up after a
payment; the money of a completion or a refund (under the order's row lock, in the
same transaction, after the order's own follow-up has run)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.events import listen
from backend.finance import service as finance
from backend.flows import paid_order


@listen("order_paid")
def follow_up_after_payment(*, tenant_id: int, order_id: int) -> None:
    """Inline after the payment commits, or left to the worker (PAID_FOLLOWUP)."""
    paid_order.schedule(tenant_id=tenant_id, order_id=order_id)


@listen("order_completed")
def settle_after_completion(*, order: Any, now: datetime) -> None:
    """The order's rewards settle after the tenant's after-sales window."""
    assert order.completed_at is not None
    paid_order.ensure_followed_up(tenant_id=order.tenant_id, order_id=order.id,
                                  pending=bool(order.followup_pending), now=now)
    finance.on_order_completed(tenant_id=order.tenant_id, order_id=order.id, completed_at=order.completed_at)


@listen("lines_refunded")
def reverse_after_refund(*, order: Any, refund: Any, lines: Sequence[Any], now: datetime) -> None:
    """The refund's WeChat Pay part posted once per refund number (the stored-value and
    offline parts are flows/payment_methods.py's); the lines' rewards cancelled (frozen)
    or reversed (settled)."""
    paid_order.ensure_followed_up(tenant_id=order.tenant_id, order_id=order.id,
                                  pending=bool(order.followup_pending), now=now)
    finance.on_lines_refunded(tenant_id=order.tenant_id, order_id=order.id, order_line_ids=[ln.id for ln in lines],
                              now=now, refund_fen=refund.amount_fen - refund.stored_fen - refund.offline_fen,
                              refund_key=refund.refund_no)
