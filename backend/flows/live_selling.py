"""Live selling (直播分销) across live rooms, members, checkout, orders and finance.

    enter_room    a viewer opens the room, perhaps through a share: bound to the sharer
                  exactly as any share binds (source live_room), the viewer recorded;
    quote_in_room what buying in the room would cost (live prices, coupons, points);
    buy_in_room   边看边买: the order placed at the room's live prices (checkout, with
                  coupon and points as anywhere), attributed to the room (the order's
                  source live/room id) and to the sharer who brought the buyer; its
                  rewards are paid by the plan on what each line cost, like any order;
    room_stats    viewers, new bindings, orders, GMV and rewards of the room, and per sharer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.finance import service as finance
from backend.flows import checkout
from backend.live import service as live
from backend.orders import service as orders
from backend.orders.types import OrderInfo


def enter_room(*, tenant_id: int, member_id: int, room_id: int, now: datetime, scene: str | None = None
               ) -> dict[str, Any]:
    """The room as the viewer sees it, and what the share did (bound, pending, refused)."""
    entry = live.enter_room(tenant_id=tenant_id, member_id=member_id, room_id=room_id, scene=scene, now=now)
    page = live.room_page(tenant_id=tenant_id, room_id=entry.room.id)
    page["bind_status"] = entry.bind_status
    return page


def buy_in_room(*, tenant_id: int, member_id: int, room_id: int, items: Sequence[orders.LineRequest],
                receiver: orders.Receiver, now: datetime, coupon: checkout.CouponChoice = checkout.BEST,
                use_points: int = 0, remark: str = "") -> OrderInfo:
    """An order in the room at its live prices, attributed to the room and the sharer."""
    prices = live.live_prices(tenant_id=tenant_id, room_id=room_id, sku_ids=[i.sku_id for i in items])
    order = checkout.place_order(tenant_id=tenant_id, member_id=member_id, items=items, receiver=receiver, now=now,
                                 remark=remark, source_type="live", source_id=room_id, coupon=coupon,
                                 use_points=use_points, activity_prices=prices)
    live.record_order(tenant_id=tenant_id, room_id=room_id, order_id=order.id, member_id=member_id, now=now)
    return order


def quote_in_room(*, tenant_id: int, member_id: int, room_id: int, items: Sequence[orders.LineRequest],
                  now: datetime, coupon: checkout.CouponChoice = checkout.BEST, use_points: int = 0,
                  address: str = "") -> dict[str, Any]:
    """What buying these in the room would cost: the quote at the room's live prices
    (what buy_in_room then charges), with the buyer's coupons and points."""
    prices = live.live_prices(tenant_id=tenant_id, room_id=room_id, sku_ids=[i.sku_id for i in items])
    return checkout.quote(tenant_id=tenant_id, member_id=member_id, items=items, now=now, coupon=coupon,
                          use_points=use_points, address=address, activity_prices=prices)


def _money(tenant_id: int, order_ids: Sequence[int]) -> dict[str, int]:
    n, gmv = orders.paid_totals(tenant_id=tenant_id, order_ids=order_ids)
    rewards = sum(finance.rewards_by_line(tenant_id=tenant_id, order_ids=order_ids).values())
    return {"orders": n, "gmv_fen": gmv, "rewards_fen": rewards}


def room_stats(*, tenant_id: int, room_id: int) -> dict[str, Any]:
    """The room's figures: viewers, new bindings, orders paid, GMV (net of refunds) and
    the rewards they pay; the same per sharer."""
    a = live.audience(tenant_id=tenant_id, room_id=room_id)
    return {"room_id": room_id, "viewers": a.viewers, "new_bindings": a.new_bindings,
            **_money(tenant_id, a.order_ids),
            "sharers": [{"member_id": s, **_money(tenant_id, ids)} for s, ids in sorted(a.orders_by_sharer.items())]}
