"""Which mini-shop an order is credited to (orders, catalog and shops meet here)."""

from __future__ import annotations

from collections.abc import Sequence

from backend.catalog import service as catalog
from backend.orders import service as orders
from backend.shops import service as shops


def credited_source(*, tenant_id: int, items: Sequence[orders.LineRequest], source_type: str | None,
                    source_id: int | None) -> tuple[str | None, int | None]:
    """The order's source as it is to be recorded: a mini-shop is credited only if it is
    this tenant's, open, and shows one of the order's products; otherwise the order
    stands, unattributed (never block a purchase). Other sources pass unchanged."""
    if source_type != "shop" or source_id is None:
        return source_type, source_id
    orders.check_items(items, source_type, source_id)
    product_ids = catalog.product_ids_of_skus(tenant_id=tenant_id, sku_ids=[i.sku_id for i in items])
    if shops.order_attribution(tenant_id=tenant_id, shop_id=source_id, product_ids=product_ids) is None:
        return None, None
    return source_type, source_id
