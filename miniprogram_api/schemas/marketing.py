"""Coupons, points, checkout quotes and group-buys as the API shows them."""

from __future__ import annotations

from pydantic import Field

from miniprogram_api.http import Out, Page, Timestamp
from miniprogram_api.schemas.orders import OrderOut


class CouponOut(Out):
    id: int
    name: str
    kind: str
    amount_off_fen: int
    percent_off: str | None
    max_discount_fen: int | None
    threshold_fen: int
    scope: str
    product_ids: list[int]
    categories: list[str]
    valid_from: Timestamp | None
    valid_until: Timestamp | None
    valid_days: int | None
    total_stock: int
    issued: int
    remaining: int
    per_member_limit: int
    claimable: bool
    status: str
    description: str


class CouponAdminOut(CouponOut):
    used: int


class HeldCouponOut(Out):
    id: int
    coupon_id: int
    name: str
    description: str
    kind: str
    status: str
    source: str
    valid_from: Timestamp
    valid_until: Timestamp
    order_id: int | None
    discount_fen: int


class MarketingPolicyOut(Out):
    return_coupon_on_refund: bool
    new_member_coupon_id: int | None
    invite_coupon_id: int | None


class QuotePoints(Out):
    balance: int
    max_points: int
    point_value_fen: int
    used: int
    fen: int


class QuoteCoupon(Out):
    member_coupon_id: int
    name: str
    discount_fen: int


class CouponOption(Out):
    member_coupon_id: int
    name: str
    description: str
    usable: bool
    discount_fen: int
    reason: str | None


class QuoteOut(Out):
    goods_fen: int
    freight_fen: int
    freight_discount_fen: int
    coupon_fen: int
    points: QuotePoints
    payable_fen: int
    payable: str
    coupon: QuoteCoupon | None
    coupons: list[CouponOption]


# What placing an order may answer, by either route (POST /mp/shop/orders and
# /mp/checkout/orders run the same checkout.place_order).
PLACE_ORDER_ERRORS = ("authorization_expired", "authorization_inactive", "coupon_not_usable", "insufficient_pieces",
                      "insufficient_points", "out_of_stock", "points_over_cap", "product_not_authorized",
                      "product_off_shelf", "region_not_authorized", "sku_not_found")


class CheckoutOrderOut(OrderOut):
    coupon_fen: int
    points_used: int


class PointsEntryOut(Out):
    id: int
    kind: str
    delta: int
    memo: str
    order_id: int | None
    expires_at: Timestamp | None
    created_at: Timestamp


class PointsPageOut(Page[PointsEntryOut]):
    balance: int


class PointsGotOut(Out):
    points: int
    balance: int


class PointsReceiver(Out):
    nickname: str
    invite_code: str


class PointsTransferOut(Out):
    to: PointsReceiver
    points: int
    balance: int


class PointsRulesOut(Out):
    point_value_fen: int
    points_max_ratio: str
    earn_points_per_yuan: int
    signin_points: int
    bind_points: int
    points_expire_days: int


class PointsTaskOut(Out):
    id: int
    title: str
    points: int
    repeat: str
    needs_code: bool
    status: str


class PointsTaskAdminOut(PointsTaskOut):
    claim_code: str | None


class CampaignOut(Out):
    id: int
    name: str
    product_id: int
    sku_id: int
    group_price_fen: int
    group_price: str
    group_size: int
    time_limit_minutes: int
    starts_at: Timestamp
    ends_at: Timestamp
    leader_reward_points: int
    free_leader: bool = Field(description="团长免单: the leader's order refunded in full when the group fills")
    status: str


class GroupCounts(Out):
    forming: int
    filled: int
    failed: int


class CampaignAdminOut(CampaignOut):
    groups: GroupCounts


class GroupMember(Out):
    member_id: int
    leader: bool
    paid: bool


class GroupSeat(Out):
    member_id: int
    order_id: int | None
    status: str
    leader: bool


class GroupOut(Out):
    id: int
    campaign_id: int
    leader_id: int
    size: int
    seats_taken: int
    seats_paid: int
    seats_left: int
    status: str
    expires_at: Timestamp
    seconds_left: int
    leader_refunded_at: Timestamp | None = Field(description="when a free leader's order was refunded")
    members: list[GroupMember]


class GroupAdminOut(GroupOut):
    seats: list[GroupSeat]


class GroupPageOut(GroupOut):
    campaign: CampaignOut


class GroupPlacedOut(Out):
    group: GroupPageOut
    order: CheckoutOrderOut
