"""The shop's one window onto the orders domain: paid orders and sales attributed to shops.

The orders domain stores a shop order's attribution as source_type "shop" and
source_id = the shop id (see backend.shops.service.order_attribution). An order
counts once paid and not wholly refunded; sales are net of refunds.
"""

from __future__ import annotations

from collections.abc import Sequence

from backend.orders import service as orders
from backend.orders.types import SourceType


def shop_order_totals(*, tenant_id: int, shop_ids: Sequence[int]) -> list[tuple[int, int, int]]:
    """(shop id, paid orders, net paid fen) for the given shops."""
    return orders.source_totals(tenant_id=tenant_id, source_type=SourceType.SHOP, source_ids=shop_ids)
