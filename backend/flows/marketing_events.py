"""What marketing does when other domains announce something (backend/events.py):

- an unpaid order cancelled → its coupon and points back to the buyer;
- a refund → its share of the points spent back (the last refund the rest); after
  completion, its share of the points earned taken back; the whole order refunded →
  its coupon back (by the tenant's rule, if still valid);
- an order completed → points per yuan its goods cost (freight left out);
- a new member → the new-member coupon (新人礼), once;
- members bound through someone's share → the invite coupon and the binding points
  to that promoter, once per member brought (a batch of bindings at a time).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.events import listen
from backend.marketing import coupons, points
from backend.members.types import Bound
from backend.orders import service as orders
from backend.orders.types import OrderStatus

SHARE_SOURCES = ("share", "invite_code", "oa_qrcode", "live_room", "shop")


@listen("order_cancelled")
def coupon_back_on_cancel(*, order: Any, now: datetime) -> None:
    coupons.return_for_order(tenant_id=order.tenant_id, order_id=order.id, now=now, refund=False)
    points.return_for_order(tenant_id=order.tenant_id, member_id=order.member_id, order_id=order.id, now=now)


@listen("lines_refunded")
def coupon_back_on_refund(*, order: Any, refund: Any, lines: Sequence[Any], now: datetime) -> None:
    """Every refund gives back its share of the points spent (the last one the rest) and,
    after completion, takes back its share of the points earned; the coupon comes back
    when the whole order is refunded (by the tenant's rule, while still valid)."""
    if order.status == OrderStatus.REFUNDED:
        coupons.return_for_order(tenant_id=order.tenant_id, order_id=order.id, now=now, refund=True)
    goods = _goods_fen(order)
    refunded = orders.refunded_goods(tenant_id=order.tenant_id, order_id=order.id)
    points.return_for_refund(tenant_id=order.tenant_id, member_id=order.member_id, order_id=order.id,
                             refund_key=refund.refund_no, refunded_fen=refunded, goods_fen=goods, now=now)
    if order.completed_at is not None:
        since = orders.refunded_goods(tenant_id=order.tenant_id, order_id=order.id, since=order.completed_at)
        points.reverse_for_refund(tenant_id=order.tenant_id, member_id=order.member_id, order_id=order.id,
                                  refund_key=refund.refund_no, refunded_since_fen=since,
                                  kept_fen=goods - (refunded - since), now=now)


def _goods_fen(order: Any) -> int:
    """What the order's goods cost the buyer (freight left out)."""
    return sum(ln.paid_fen for ln in orders.order_lines(tenant_id=order.tenant_id, order_ids=[order.id])[order.id])


@listen("order_completed")
def points_for_completed_order(*, order: Any, now: datetime) -> None:
    kept = sum(ln.paid_fen - ln.refunded_fen
               for ln in orders.order_lines(tenant_id=order.tenant_id, order_ids=[order.id])[order.id])
    points.earn_for_order(tenant_id=order.tenant_id, member_id=order.member_id, order_id=order.id,
                          paid_fen=kept, now=now)


@listen("members_created")
def new_member_gift(*, tenant_id: int, member_ids: Sequence[int], now: datetime) -> None:
    """The new-member coupon (新人礼), once per member; the rules read once a batch."""
    rules = coupons.policy(tenant_id=tenant_id)
    if rules.new_member_coupon_id is None:
        return
    for member_id in member_ids:  # each takes a piece of the coupon's stock
        coupons.gift_coupon(tenant_id=tenant_id, coupon_id=rules.new_member_coupon_id, member_id=member_id,
                            source="new_member", issue_key=f"new_member:{member_id}", now=now)


@listen("members_bound")
def invite_reward(*, tenant_id: int, bindings: Sequence[Bound], now: datetime) -> None:
    """Members brought by a share: the invite coupon and the binding points to the
    promoter, once per member brought. The rules are read once a batch and the points
    posted a batch at a time (the coupon, when the brand set one, one by one: each
    takes a piece of its stock)."""
    shared = [b for b in bindings if b.source in SHARE_SOURCES]
    if not shared:
        return
    rules = coupons.policy(tenant_id=tenant_id)
    if rules.invite_coupon_id is not None:
        for b in shared:
            coupons.gift_coupon(tenant_id=tenant_id, coupon_id=rules.invite_coupon_id, member_id=b.parent_id,
                                source="invite", issue_key=f"invite:{b.member_id}", now=now)
    points.reward_bindings(tenant_id=tenant_id, bound=[(b.parent_id, b.member_id) for b in shared], now=now,
                           rules=rules)
