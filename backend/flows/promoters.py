"""Promoter status across domains (SPEC §2): condition mode checks each paid buyer
against the tenant's condition (orders' totals, members' rule) and grants the status;
every change of status, by review or by condition, reaches the member as an alert."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from backend.events import listen
from backend.members import promoters
from backend.notifications.service import enqueue_alert
from backend.orders import service as orders
from backend.tenants.service import get_tenant
from backend.tenants.types import PromoterMode


@listen("orders_followed_up")
def grant_by_condition(*, tenant_id: int, order_ids: Sequence[int], now: datetime) -> None:
    """Buyers of these just-paid orders who now meet the condition become promoters."""
    tenant = get_tenant(tenant_id=tenant_id)
    if tenant.promoter_mode != PromoterMode.CONDITION or not tenant.promoter_condition:
        return
    buyers = {o.member_id for o in orders.orders_by_ids(tenant_id=tenant_id, order_ids=order_ids).values()}
    waiting = promoters.non_promoters(tenant_id=tenant_id, member_ids=sorted(buyers))
    if not waiting:
        return
    totals = orders.buyer_totals(tenant_id=tenant_id, member_ids=waiting)
    qualified = [m for m, t in totals.items() if promoters.qualifies(
        tenant.promoter_condition, promoters.PurchaseFacts(paid_orders=t.paid_orders, paid_fen=t.paid_fen,
                                                           product_ids=t.product_ids))]
    promoters.grant_promoter(tenant_id=tenant_id, member_ids=qualified, now=now)


@listen("promoter_status_changed")
def tell_the_member(*, tenant_id: int, member_id: int, outcome: str, reason: str | None,
                    now: datetime) -> None:
    """approved / rejected (with the reason) / condition_met, once per outcome."""
    enqueue_alert(tenant_id=tenant_id, member_id=member_id, kind="promoter",
                  data={"outcome": outcome, "reason": reason},
                  dedupe_key=f"{member_id}:{outcome}:{now.timestamp():.0f}", now=now)
