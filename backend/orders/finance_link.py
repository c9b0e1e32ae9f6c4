"""The one place the orders domain calls the finance domain (ledger, reward
lifecycle). Every call runs inside the caller's unit of work, under the order's row
lock, so the money moves commit or roll back with the order's state change.

Finance's functions are idempotent per order line / refund; these adapters only
translate the orders domain's rows into their arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.orders.models import Order, OrderLine, Refund
    from backend.rewards.models import Payout
    from backend.wechat.pay import TransferBill


def payment_received(*, order: Order, now: datetime) -> None:
    """The buyer's money reached the merchant account at WeChat Pay."""


def rewards_frozen(*, order: Order, payouts: Sequence[Payout], now: datetime) -> None:
    """The payouts computed at payment become frozen rewards (冻结)."""


def order_completed(*, order: Order, now: datetime) -> None:
    """The order completed: its after-sales window (settlement clock) starts."""


def lines_refunded(*, order: Order, refund: Refund, lines: Sequence[OrderLine], now: datetime) -> None:
    """Money went back to the buyer for these lines: cancel (or reverse) their rewards."""


def transfer_finished(*, tenant_id: int, bill: TransferBill, now: datetime) -> None:
    """A merchant transfer (withdrawal payout) reached its final state at WeChat Pay."""
