"""Demo freight rule of the demo tenant: 10 yuan an order, free from 99 yuan, 20 yuan
to the remote provinces, returned with a refund only while nothing was shipped."""

from __future__ import annotations

from typing import Any

from backend.orders.service import update_order_policy


def seed(tenant: Any) -> None:
    """Set the demo's freight rule (inside the demo unit of work)."""
    update_order_policy(tenant_id=tenant.id, actor="demo", changes={
        "freight_fen": 1000, "free_freight_over_fen": 9900,
        "freight_by_region": {"新疆": 2000, "西藏": 2000, "青海": 2000, "内蒙古": 2000}})
