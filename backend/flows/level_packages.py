"""Level packages (等级礼包, SPEC §4.4 "buy a level"): a product flagged with the agent
level it grants raises its buyer to that level once the order is paid (after the
rewards of that order were computed at the buyer's old level); a refund of the package
within the after-sales window takes the level back, unless it has changed since."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from backend.catalog import service as catalog
from backend.events import listen
from backend.finance import service as finance
from backend.orders import service as orders
from backend.rewards import service as rewards
from backend.rewards.errors import NoActivePlan


def _granted(tenant_id: int, product_ids: Sequence[int]) -> dict[int, str]:
    return {p.id: p.grants_level for p in catalog.products_by_ids(tenant_id=tenant_id, product_ids=product_ids)
            if p.grants_level}


@listen("orders_followed_up")
def grant_bought_levels(*, tenant_id: int, order_ids: Sequence[int], now: datetime) -> None:
    """Each paid order holding a level package raises its buyer (the highest package of
    the order wins; buy_level ignores one at or below the buyer's level)."""
    lines = orders.order_lines(tenant_id=tenant_id, order_ids=order_ids)
    granting = _granted(tenant_id, sorted({ln.product_id for ls in lines.values() for ln in ls}))
    if not granting:
        return
    try:
        plan = rewards.get_active_plan(tenant_id=tenant_id)
    except NoActivePlan:  # no plan, no levels to grant: the payment itself stands
        return
    order_of = plan.level_order
    paid = orders.orders_by_ids(tenant_id=tenant_id, order_ids=order_ids)
    for order_id, order_lines in sorted(lines.items()):
        levels = [granting[ln.product_id] for ln in order_lines if ln.product_id in granting]
        if not levels or order_id not in paid:
            continue
        if paid[order_id].source_type == "agent_apply":
            continue  # bought with an agent application: the level waits for its approval (agent_channel)
        best = max(levels, key=lambda k: order_of.index(k) if k in order_of else -1)
        rewards.buy_level(tenant_id=tenant_id, member_id=paid[order_id].member_id, level=best, order_id=order_id)


@listen("lines_refunded")
def revoke_refunded_levels(*, order: Any, refund: Any, lines: Sequence[Any], now: datetime) -> None:
    """A refunded package line within the after-sales window (not completed yet, or
    completed less than settle_after_days ago) takes the bought level back. A
    money-only refund (keeps_goods: 团长免单) leaves the package with the buyer, and the
    level with it."""
    if refund.keeps_goods:
        return
    if not _granted(order.tenant_id, [ln.product_id for ln in lines]):
        return
    if order.completed_at is not None:
        window = timedelta(days=finance.get_rules(tenant_id=order.tenant_id).settle_after_days)
        if now > order.completed_at + window:
            return
    rewards.revoke_bought_level(tenant_id=order.tenant_id, member_id=order.member_id, order_id=order.id)
