"""Money a member is told about: finance announces, the notifications outbox carries it
(written in the same unit of work, sent after it commits, once per dedupe key)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.events import listen
from backend.notifications import service as notifications


@listen("member_money_changed")
def money_alert(*, tenant_id: int, member_id: int, kind: str, data: dict[str, Any], dedupe_key: str,
                now: datetime) -> None:
    """Settlement or withdrawal result."""
    notifications.enqueue_alert(tenant_id=tenant_id, member_id=member_id, kind=kind, data=data,
                                dedupe_key=dedupe_key, now=now)


@listen("commissions_frozen")
def commission_alerts(*, tenant_id: int, commissions: Sequence[Any], now: datetime) -> None:
    """"New commission": one alert per beneficiary and order (commissions: beneficiary_id,
    amount_fen, order_id, kind)."""
    notifications.enqueue_commission_alerts(tenant_id=tenant_id, now=now, payouts=list(commissions))
