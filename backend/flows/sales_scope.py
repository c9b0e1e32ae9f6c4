"""What a sales account sees of the shop's orders: those attributed to it, i.e. placed
by the customers it owns (scrm ownership). The permission table gives sales
"orders.read" with the scope "own" (backend/auth/policy.py); the order views call
these instead of the unscoped reads."""

from __future__ import annotations

from collections.abc import Sequence

from backend.orders import service as orders
from backend.orders.errors import OrderNotFound
from backend.orders.types import OrderInfo
from backend.scrm import service as scrm


def list_orders(*, tenant_id: int, staff_id: int, member_id: int | None, status: str | None,
                before_id: int | None, limit: int) -> Sequence[OrderInfo]:
    """The orders of this staff member's own customers, newest first."""
    owned = scrm.owned_member_ids(tenant_id=tenant_id, staff_id=staff_id)
    return orders.list_orders(tenant_id=tenant_id, member_id=member_id, status=status,
                              before_id=before_id, limit=limit, member_ids=owned)


def get_order(*, tenant_id: int, staff_id: int, order_id: int) -> OrderInfo:
    """One order of one of this staff member's customers, or OrderNotFound."""
    order = orders.get_order(tenant_id=tenant_id, order_id=order_id)
    if order.member_id not in scrm.owned_member_ids(tenant_id=tenant_id, staff_id=staff_id):
        raise OrderNotFound()
    return order
