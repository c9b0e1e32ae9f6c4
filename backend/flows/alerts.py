"""Money a member is told about: finance announces, the notifications outbox carries it
(written in the same unit of work, sent after it commits, once per dedupe key)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.events import listen
from backend.finance import service as finance
from backend.notifications import service as notifications
from backend.orders import service as orders
from backend.rewards import service as rewards


@listen("member_money_changed")
def money_alert(*, tenant_id: int, member_id: int, kind: str, data: dict[str, Any], dedupe_key: str,
                now: datetime) -> None:
    """Settlement or withdrawal result."""
    notifications.enqueue_alert(tenant_id=tenant_id, member_id=member_id, kind=kind, data=data,
                                dedupe_key=dedupe_key, now=now)


@listen("commissions_frozen")
def commission_alerts(*, tenant_id: int, commissions: Sequence[Any], now: datetime) -> None:
    """"New commission": one alert per beneficiary and order (commissions: beneficiary_id,
    amount_fen, order_id, kind), naming the order by the number the buyer and the
    promoter see, never the internal id."""
    order_ids = sorted({c.order_id for c in commissions if c.order_id is not None})
    numbers = {i: o.order_no for i, o in orders.orders_by_ids(tenant_id=tenant_id, order_ids=order_ids).items()}
    notifications.enqueue_commission_alerts(tenant_id=tenant_id, now=now, payouts=list(commissions),
                                            order_nos=numbers)


@listen("lines_refunded")
def commission_corrections(*, order: Any, refund: Any, lines: Sequence[Any], now: datetime) -> None:
    """A refund takes back commission a promoter was told about: a correction follows the
    "new commission" alert, per beneficiary, once per refund (cancelled while frozen,
    or taken back from the withdrawable balance once settled)."""
    line_ids = {ln.id for ln in lines}
    settled = finance.reversed_order_lines(tenant_id=order.tenant_id, order_line_ids=sorted(line_ids))
    per: dict[tuple[int, bool], int] = {}
    for p in rewards.payouts_of_lines(tenant_id=order.tenant_id, order_line_ids=sorted(line_ids)):
        if p.beneficiary_id is not None and p.amount_fen > 0:
            key = (p.beneficiary_id, p.order_line_id in settled)
            per[key] = per.get(key, 0) + p.amount_fen
    for (member_id, was_settled), amount in sorted(per.items()):
        notifications.enqueue_alert(
            tenant_id=order.tenant_id, member_id=member_id, kind="commission_reversed",
            data={"order_no": order.order_no, "amount_fen": amount, "settled": was_settled},
            dedupe_key=f"{refund.refund_no}:{member_id}:{int(was_settled)}", now=now)
