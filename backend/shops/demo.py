"""Demo shop: the demo tenant's first promoter (爱丽丝) runs a shop of the products
everyone may buy, so the shop page, its code and poster work out of the box."""

from __future__ import annotations

from typing import Any

from backend.catalog import service as catalog
from backend.db import utcnow
from backend.members import service as members
from backend.shops import service as shops


def seed(tenant: Any) -> None:
    """Open 爱丽丝's shop with the tenant's on-shelf products open to everyone (called once)."""
    alice = members.first_root_promoter(tenant_id=tenant.id)
    if alice is None:
        return
    # allowed_levels is JSON: "everyone" is a JSON null, so it is checked here, not in SQL
    products = [p.id for p in catalog.list_products(tenant_id=tenant.id, on_shelf=True, limit=500)
                if p.allowed_levels is None]
    now = utcnow()
    shops.open_shop(tenant_id=tenant.id, member_id=alice.id, name="爱丽丝的茶铺",
                    intro="自己喝的好茶，分享给朋友。每周上新，正品保障。", now=now)
    if products:
        shops.set_products(tenant_id=tenant.id, member_id=alice.id, product_ids=products, now=now)
