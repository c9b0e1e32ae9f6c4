"""The shop's one window onto the orders domain: paid orders and sales attributed to shops.

The orders domain stores a shop order's attribution as source_type "shop" and
source_id = the shop id (see backend.shops.service.order_attribution). An order
counts once paid and not wholly refunded; sales are net of refunds.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from backend.extensions import db


def shop_order_totals(*, tenant_id: int, shop_ids: Sequence[int]) -> list[tuple[int, int, int]]:
    """(shop id, paid orders, net paid fen) for the given shops; empty until orders exist."""
    try:
        from backend.orders.models import Order
    except ModuleNotFoundError as exc:
        if exc.name not in ("backend.orders", "backend.orders.models"):
            raise
        return []
    rows = db.session.execute(
        select(Order.source_id, func.count(), func.sum(Order.paid_fen - Order.refunded_fen))
        .where(Order.tenant_id == tenant_id, Order.source_type == "shop",
               Order.source_id.in_(list(shop_ids)), Order.paid_at.is_not(None),
               Order.status != "refunded")
        .group_by(Order.source_id))
    return [(int(sid), int(n), int(fen or 0)) for sid, n, fen in rows if sid is not None]
