"""What marketing does when other domains announce something (backend/events.py):

- an unpaid order cancelled → its coupon back to the buyer;
- an order refunded in full → its coupon back, by the tenant's rule, if still valid;
- a new member → the new-member coupon (新人礼), once;
- a member bound through someone's share → the invite coupon to that promoter, once
  per member brought.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.events import listen
from backend.marketing import coupons

SHARE_SOURCES = ("share", "invite_code", "oa_qrcode", "live_room", "shop")


@listen("order_cancelled")
def coupon_back_on_cancel(*, order: Any, now: datetime) -> None:
    coupons.return_for_order(tenant_id=order.tenant_id, order_id=order.id, now=now, refund=False)


@listen("lines_refunded")
def coupon_back_on_refund(*, order: Any, refund: Any, lines: Sequence[Any], now: datetime) -> None:
    if order.status == "refunded":
        coupons.return_for_order(tenant_id=order.tenant_id, order_id=order.id, now=now, refund=True)


@listen("member_created")
def new_member_gift(*, tenant_id: int, member_id: int, now: datetime) -> None:
    rules = coupons.policy(tenant_id=tenant_id)
    coupons.gift_coupon(tenant_id=tenant_id, coupon_id=rules.new_member_coupon_id, member_id=member_id,
                        source="new_member", issue_key=f"new_member:{member_id}", now=now)


@listen("member_bound")
def invite_reward(*, tenant_id: int, member_id: int, parent_id: int, source: str, scene: str | None,
                  now: datetime) -> None:
    if source not in SHARE_SOURCES:
        return
    rules = coupons.policy(tenant_id=tenant_id)
    coupons.gift_coupon(tenant_id=tenant_id, coupon_id=rules.invite_coupon_id, member_id=parent_id,
                        source="invite", issue_key=f"invite:{member_id}", now=now)
