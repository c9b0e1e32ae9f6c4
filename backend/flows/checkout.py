"""Checkout (下单结算): an order priced with the buyer's coupon and points, the
discount spread over the lines to the fen.

    quote(...)        what the order would cost: every coupon the buyer holds with
                      what it takes off (or why not), the best one picked;
    place_order(...)  the order placed (orders), the discounts applied to its lines
                      (orders.apply_discounts: what each line costs the buyer is
                      what its rewards and refunds are based on), the coupon redeemed,
                      the points spent.

Both run the same plan (`_plan`), so the quote is what the order will cost. The
freight comes from the tenant's rule (orders.freight_for) on what the goods cost after
activity prices. Order of the discounts: the coupon on the lines it covers, in
proportion to their amounts (a free-shipping coupon on the freight instead); then
points (up to the tenant's share of what is left of the goods, never the last fen)
over every line, in proportion to what is left of each. Freight is never part of a
line, so never part of what rewards are paid on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.catalog import service as catalog
from backend.flows import agent_channel
from backend.marketing import coupons, points
from backend.marketing.errors import InsufficientPoints, PointsOverCap
from backend.marketing.pricing import CouponResult, Line, allocate, points_cap_fen
from backend.members import levels as member_levels
from backend.members import service as members
from backend.money import yuan
from backend.orders import service as orders
from backend.orders.types import OrderInfo

BEST = "best"  # pick the coupon that takes off the most
NONE = "none"  # use no coupon

CouponChoice = int | str


@dataclass(frozen=True)
class Plan:
    goods_fen: int
    freight_fen: int
    options: list[coupons.CouponOption]
    coupon: coupons.CouponOption | None
    points: points.PointsOffer
    points_used: int = 0
    line_discounts: dict[int, int] = field(default_factory=dict)  # line key -> fen off

    @property
    def points_fen(self) -> int:
        return self.points.fen(self.points_used)

    @property
    def coupon_fen(self) -> int:
        return self.coupon.result.discount_fen if self.coupon else 0

    @property
    def freight_discount_fen(self) -> int:
        """What a free-shipping coupon takes off the freight (never part of a line)."""
        return self.coupon.result.freight_fen if self.coupon else 0

    @property
    def payable_fen(self) -> int:
        return self.goods_fen + self.freight_fen - sum(self.line_discounts.values()) - self.freight_discount_fen


def _plan(*, tenant_id: int, member_id: int, lines: Sequence[Line], freight_fen: int, coupon: CouponChoice,
          now: datetime, use_points: int = 0) -> Plan:
    goods = sum(ln.amount_fen for ln in lines)
    # Every held coupon priced against these lines and this freight: a free-shipping
    # coupon is worth the freight, so "best" weighs it against the goods coupons.
    options = coupons.options_for(tenant_id=tenant_id, member_id=member_id, lines=lines, freight_fen=freight_fen,
                                  now=now)
    chosen: coupons.CouponOption | None = None
    if coupon == BEST:
        chosen = next((o for o in options if o.result.discount_fen > 0), None)
    elif coupon != NONE:
        chosen = coupons.check_usable(next((o for o in options if o.member_coupon_id == coupon), None))
    discounts: dict[int, int] = {}
    if chosen is not None:
        # Never the whole order: WeChat Pay takes no zero payment.
        if not chosen.result.freight_fen and goods + freight_fen - chosen.result.discount_fen < 1:
            chosen = _trimmed(chosen, lines, goods + freight_fen - 1)
        for key, fen in chosen.result.lines.items():
            discounts[key] = discounts.get(key, 0) + fen
    left = [ln.amount_fen - discounts.get(ln.key, 0) for ln in lines]
    # Points pay goods only (never freight), at most the tenant's share of what is left.
    offer = points.offer(tenant_id=tenant_id, member_id=member_id,
                         cap_fen_for=lambda ratio: points_cap_fen(remaining_fen=sum(left), max_ratio=ratio))
    if use_points > offer.balance:
        raise InsufficientPoints(f"积分不足，当前可用 {offer.balance} 积分",
                                 details={"balance": offer.balance, "needed": use_points})
    if use_points > offer.max_points:
        raise PointsOverCap(f"本单最多可用 {offer.max_points} 积分", details={"max_points": offer.max_points})
    if use_points:
        for ln, fen in zip(lines, allocate(offer.fen(use_points), left), strict=True):
            if fen:
                discounts[ln.key] = discounts.get(ln.key, 0) + fen
    return Plan(goods_fen=goods, freight_fen=freight_fen, options=options, coupon=chosen, points=offer,
                points_used=use_points, line_discounts=discounts)


def _trimmed(option: coupons.CouponOption, lines: Sequence[Line], most: int) -> coupons.CouponOption:
    """A coupon worth more than the order less one fen, cut down to that."""
    keys = [k for k in option.result.lines]
    weights = [next(ln.amount_fen for ln in lines if ln.key == k) for k in keys]
    shares = allocate(most, weights)
    result = CouponResult(most, "", dict(zip(keys, shares, strict=True)))
    return coupons.CouponOption(option.member_coupon_id, option.name, option.description, result)


def _plan_view(plan: Plan) -> dict[str, Any]:
    return {
        "goods_fen": plan.goods_fen, "freight_fen": plan.freight_fen,
        "freight_discount_fen": plan.freight_discount_fen, "coupon_fen": plan.coupon_fen,
        "points": {"balance": plan.points.balance, "max_points": plan.points.max_points,
                   "point_value_fen": plan.points.point_value_fen, "used": plan.points_used,
                   "fen": plan.points_fen},
        "payable_fen": plan.payable_fen, "payable": yuan(plan.payable_fen),
        "coupon": {"member_coupon_id": plan.coupon.member_coupon_id, "name": plan.coupon.name,
                   "discount_fen": plan.coupon.result.discount_fen} if plan.coupon else None,
        "coupons": [{"member_coupon_id": o.member_coupon_id, "name": o.name, "description": o.description,
                     "usable": o.result.discount_fen > 0, "discount_fen": o.result.discount_fen,
                     "reason": o.result.reason} for o in plan.options],
    }


def quote(*, tenant_id: int, member_id: int, items: Sequence[orders.LineRequest], now: datetime,
          coupon: CouponChoice = BEST, use_points: int = 0, address: str = "",
          activity_prices: Mapping[int, int] | None = None) -> dict[str, Any]:
    """What this order would cost the buyer: the freight (by the delivery address, when
    given), the coupons it holds (usable or why not), the one chosen (the best, unless it
    names one or none), and what is left to pay. activity_prices as place_order takes
    them (a live room's prices): a line costs at most that much a piece."""
    member = members.get_member(tenant_id=tenant_id, member_id=member_id)
    quantities: dict[int, int] = {}
    for item in items:
        quantities[item.sku_id] = quantities.get(item.sku_id, 0) + item.quantity
    priced = catalog.price_skus(tenant_id=tenant_id, sku_ids=list(quantities), agent_level=member.agent_level,
                                member_discount=member_levels.member_discount(
                                    tenant_id=tenant_id, member_level=member.member_level))
    cats = catalog.product_categories(tenant_id=tenant_id, product_ids=[p.product.id for p in priced.values()])
    activity = activity_prices or {}
    lines = [Line(key=i, product_id=priced[s].product.id, category=cats.get(priced[s].product.id, ""),
                  amount_fen=min(priced[s].unit_price_fen, activity.get(s, priced[s].unit_price_fen)) * q)
             for i, (s, q) in enumerate(quantities.items())]
    freight = orders.freight_for(tenant_id=tenant_id, goods_fen=sum(ln.amount_fen for ln in lines), address=address)
    plan = _plan(tenant_id=tenant_id, member_id=member_id, lines=lines, freight_fen=freight, coupon=coupon, now=now,
                 use_points=use_points)
    return _plan_view(plan)


def place_order(*, tenant_id: int, member_id: int, items: Sequence[orders.LineRequest], receiver: orders.Receiver,
                now: datetime, remark: str = "", source_type: str | None = None, source_id: int | None = None,
                coupon: CouponChoice = BEST, use_points: int = 0,
                activity_prices: Mapping[int, int] | None = None) -> OrderInfo:
    """Place an order with the buyer's coupon and points: the order (stock reserved), its
    freight by the tenant's rule, the discount on its lines, the coupon used, the points
    spent. All in the caller's unit of work: a refused coupon or points leave no order
    and no stock taken.

    activity_prices (SKU id -> price of one piece: a group price, a live-room price)
    come first: a line costs at most that much a piece before coupons and points. The
    freight is decided on what the goods cost then (满额包邮 before coupons)."""
    # Through an agent's link or shop: drop-shipped from its cloud stock (agent_channel).
    order = agent_channel.place_retail_order(tenant_id=tenant_id, member_id=member_id, items=items,
                                             receiver=receiver, now=now, remark=remark, source_type=source_type,
                                             source_id=source_id)
    rows = orders.order_lines(tenant_id=tenant_id, order_ids=[order.id])[order.id]
    cats = catalog.product_categories(tenant_id=tenant_id, product_ids=[ln.product_id for ln in rows])
    activity = {ln.id: max(0, ln.paid_fen - activity_prices[ln.sku_id] * ln.quantity)
                for ln in rows if activity_prices and ln.sku_id in activity_prices}
    lines = [Line(key=ln.id, product_id=ln.product_id, category=cats.get(ln.product_id, ""),
                  amount_fen=ln.paid_fen - activity.get(ln.id, 0)) for ln in rows]
    freight = orders.freight_for(tenant_id=tenant_id, goods_fen=sum(ln.amount_fen for ln in lines),
                                 address=receiver.address)
    plan = _plan(tenant_id=tenant_id, member_id=member_id, lines=lines, freight_fen=freight,
                 coupon=coupon, now=now, use_points=use_points)
    off = {k: activity.get(k, 0) + plan.line_discounts.get(k, 0) for k in activity.keys() | plan.line_discounts}
    if any(off.values()) or freight:
        orders.apply_discounts(tenant_id=tenant_id, order=order, lines=rows, line_discounts=off, freight_fen=freight,
                               freight_discount_fen=plan.freight_discount_fen)
    if plan.coupon is not None:
        coupons.redeem(tenant_id=tenant_id, member_id=member_id, member_coupon_id=plan.coupon.member_coupon_id,
                       order_id=order.id, discount_fen=plan.coupon.result.discount_fen, now=now)
    if plan.points_used:
        points.spend_on_order(tenant_id=tenant_id, member_id=member_id, order_id=order.id, points=plan.points_used,
                              now=now)
    return order


def product_category(*, tenant_id: int, product_id: int | None) -> str:
    """A product's category ("" for none or no product)."""
    if product_id is None:
        return ""
    return catalog.product_categories(tenant_id=tenant_id, product_ids=[product_id]).get(product_id, "")


def order_out(order: OrderInfo) -> dict[str, Any]:
    """The order as the buyer sees it, with the coupon it used."""
    lines = orders.order_lines(tenant_id=order.tenant_id, order_ids=[order.id])[order.id]
    out = orders.order_view(order, lines)
    out["coupon_fen"] = coupons.order_discount(tenant_id=order.tenant_id, order_id=order.id)
    out["points_used"] = -points.entry_delta(tenant_id=order.tenant_id, key=f"spend:{order.id}")
    return out
