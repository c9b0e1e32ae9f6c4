"""Builders for the marketing tests: coupons through the real services."""

from __future__ import annotations

from typing import Any

from backend.db import unit_of_work
from backend.marketing import coupons


def coupon(tenant: Any, **spec: Any) -> int:
    """A coupon (满 100 减 30, 100 pieces, 30 days after claim, unless told otherwise)."""
    values: dict[str, Any] = {"name": "满100减30", "kind": "threshold", "amount_off_fen": 3000,
                              "threshold_fen": 10000, "total_stock": 100, "valid_days": 30}
    values.update(spec)
    with unit_of_work():
        return coupons.create_coupon(tenant_id=tenant.id, spec=coupons.CouponSpec(**values), actor="test").id
