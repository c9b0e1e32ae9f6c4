"""Mini-program marketing: the coupon centre, my coupons, my points (sign-in, tasks,
transfers), and checkout with a coupon and points (quote, then place the order)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint, Response
from pydantic import Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.flows import checkout, group_buy
from backend.flows import materials as flow_materials
from backend.marketing import coupons, groups, points
from backend.marketing.types import HeldCouponStatus
from backend.orders import service as orders
from miniprogram_api.http import Body, Items, Page, Query, page_of, route
from miniprogram_api.schemas.marketing import (
    PLACE_ORDER_ERRORS,
    CampaignOut,
    CheckoutOrderOut,
    CouponOut,
    GroupPageOut,
    GroupPlacedOut,
    HeldCouponOut,
    PointsGotOut,
    PointsPageOut,
    PointsTaskOut,
    PointsTransferOut,
    QuoteOut,
)
from miniprogram_api.schemas.more import MaterialSharedOut

bp = Blueprint("mp_marketing", __name__, url_prefix="/api/v1/mp")

Id = Annotated[int, Field(strict=True, ge=1, le=2**53)]


class CentreQuery(Query):
    product_id: int | None = Field(None, ge=1, le=2**53)


class MyCouponsQuery(Query):
    status: HeldCouponStatus | None = None
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(20, ge=1, le=50)


class ItemIn(Body):
    sku_id: Id
    quantity: int = Field(strict=True, ge=1, le=orders.MAX_QUANTITY)


class ReceiverIn(Body):
    name: str = Field(min_length=1, max_length=40)
    phone: str = Field(min_length=5, max_length=20, pattern=r"^[0-9+\- ]+$")
    address: str = Field(min_length=4, max_length=255)


class SourceIn(Body):
    type: Literal["shop", "live", "agent"]  # agent: an agent's share link (drop-ship)
    id: Id


class QuoteIn(Body):
    items: list[ItemIn] = Field(min_length=1, max_length=orders.MAX_LINES)
    coupon: Id | Literal["best", "none"] = Field("best", description="a held coupon id, best or none")
    points: int = Field(0, strict=True, ge=0, le=points.MAX_POINTS, description="points to spend")
    address: str = Field("", max_length=255, description="the delivery address, for a province's freight")


class CheckoutIn(Body):
    items: list[ItemIn] = Field(min_length=1, max_length=orders.MAX_LINES)
    coupon: Id | Literal["best", "none"] = Field("best", description="a held coupon id, best or none")
    points: int = Field(0, strict=True, ge=0, le=points.MAX_POINTS, description="points to spend")
    receiver: ReceiverIn
    remark: str = Field("", max_length=200)
    source: SourceIn | None = None


def _items(body: QuoteIn | CheckoutIn) -> list[orders.LineRequest]:
    return [orders.LineRequest(sku_id=i.sku_id, quantity=i.quantity) for i in body.items]


@route(bp, "/coupons", auth="member", query=CentreQuery, response=Items[CouponOut])
def coupon_centre(principal: Principal, query: CentreQuery) -> dict[str, Any]:
    """The coupon centre (领券中心); with product_id, the coupons that cover that product."""
    rows = coupons.claimable_coupons(tenant_id=principal.tenant_id, now=utcnow(), product_id=query.product_id,
                                     category=checkout.product_category(tenant_id=principal.tenant_id,
                                                                        product_id=query.product_id))
    return Items[CouponOut](items=[coupons.coupon_view(c) for c in rows])


@route(bp, "/coupons/<int:coupon_id>/claim", method="POST", auth="member", status=201,
       response=HeldCouponOut,
       errors=("coupon_limit_reached", "coupon_not_found", "coupon_out_of_stock", "coupon_unavailable"))
def claim_coupon(principal: Principal, coupon_id: int) -> dict[str, Any]:
    """Claim a coupon (stock and my limit permitting)."""
    now = utcnow()
    held = coupons.issue_coupon(tenant_id=principal.tenant_id, coupon_id=coupon_id, member_id=principal.subject_id,
                                source="claim", now=now)
    return coupons.held_view(held, coupons.get_coupon(tenant_id=principal.tenant_id, coupon_id=coupon_id), now=now)


@route(bp, "/me/coupons", auth="member", query=MyCouponsQuery, response=Page[HeldCouponOut])
def my_coupons(principal: Principal, query: MyCouponsQuery) -> dict[str, Any]:
    """The coupons I hold, newest first (expired ones show as expired)."""
    now = utcnow()
    rows = coupons.member_coupons(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                  status=query.status, before_id=query.before_id, limit=query.limit)
    by_id = coupons.coupons_by_id(tenant_id=principal.tenant_id, ids=[h.coupon_id for h in rows])
    return page_of(rows, lambda h: coupons.held_view(h, by_id[h.coupon_id], now=now), query.limit)


@route(bp, "/checkout/quote", method="POST", auth="member", body=QuoteIn, response=QuoteOut,
       errors=("product_off_shelf", "sku_not_found"))
def quote(principal: Principal, body: QuoteIn) -> dict[str, Any]:
    """What an order would cost me: my coupons (usable or why not), the best picked."""
    return checkout.quote(tenant_id=principal.tenant_id, member_id=principal.subject_id, items=_items(body),
                          coupon=body.coupon, use_points=body.points, address=body.address, now=utcnow())


@route(bp, "/checkout/orders", method="POST", auth="member", body=CheckoutIn, status=201,
       response=CheckoutOrderOut, errors=PLACE_ORDER_ERRORS)
def place_order(principal: Principal, body: CheckoutIn) -> dict[str, Any]:
    """Place an order with a coupon (the best one held, unless named or none) and points;
    pay it with /shop/orders/<id>/prepay. The same as POST /shop/orders, whose coupon
    defaults to none."""
    order = checkout.place_order(
        tenant_id=principal.tenant_id, member_id=principal.subject_id, items=_items(body),
        receiver=orders.Receiver(name=body.receiver.name, phone=body.receiver.phone, address=body.receiver.address),
        remark=body.remark, source_type=body.source.type if body.source else None,
        source_id=body.source.id if body.source else None, coupon=body.coupon, use_points=body.points,
        now=utcnow())
    return checkout.order_out(order)


class EntriesQuery(Query):
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(20, ge=1, le=50)


class TaskIn(Body):
    code: str | None = Field(None, max_length=32)


class TransferIn(Body):
    to_invite_code: str = Field(min_length=4, max_length=12)
    points: int = Field(strict=True, ge=1, le=points.MAX_POINTS)
    client_token: str = Field(min_length=8, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")


@route(bp, "/me/points", auth="member", query=EntriesQuery, response=PointsPageOut)
def my_points(principal: Principal, query: EntriesQuery) -> dict[str, Any]:
    """My points balance and entries, newest first."""
    rows = points.entries(tenant_id=principal.tenant_id, member_id=principal.subject_id, before_id=query.before_id,
                          limit=query.limit)
    page = page_of(rows, points.entry_view, query.limit)
    page["balance"] = points.balance_of(tenant_id=principal.tenant_id, member_id=principal.subject_id)
    return page


@route(bp, "/me/points/sign-in", method="POST", auth="member", response=PointsGotOut,
       errors=("already_signed_in",))
def sign_in(principal: Principal) -> dict[str, Any]:
    """Daily sign-in (每日签到)."""
    got = points.sign_in(tenant_id=principal.tenant_id, member_id=principal.subject_id, now=utcnow())
    return PointsGotOut(points=got, balance=points.balance_of(tenant_id=principal.tenant_id,
                                                              member_id=principal.subject_id))


@route(bp, "/points/tasks", auth="member", response=Items[PointsTaskOut])
def tasks(principal: Principal) -> dict[str, Any]:
    """The brand's points tasks."""
    return Items[PointsTaskOut](items=[points.task_view(t) for t in points.list_tasks(tenant_id=principal.tenant_id)])


@route(bp, "/points/tasks/<int:task_id>/complete", method="POST", auth="member", body=TaskIn,
       response=PointsGotOut, errors=("points_task_done", "points_task_not_found", "wrong_task_code"))
def complete_task(principal: Principal, task_id: int, body: TaskIn) -> dict[str, Any]:
    """Complete a task (with its code, if it has one) for its points."""
    got = points.complete_task(tenant_id=principal.tenant_id, member_id=principal.subject_id, task_id=task_id,
                               code=body.code, now=utcnow())
    return PointsGotOut(points=got, balance=points.balance_of(tenant_id=principal.tenant_id,
                                                              member_id=principal.subject_id))


@route(bp, "/me/points/transfer", method="POST", auth="member", body=TransferIn, response=PointsTransferOut,
       errors=("insufficient_points", "invalid_points_transfer", "invite_code_unknown"))
def transfer(principal: Principal, body: TransferIn) -> dict[str, Any]:
    """Give points to another member (积分转赠), once per client_token."""
    return points.transfer_by_invite_code(tenant_id=principal.tenant_id, from_member_id=principal.subject_id,
                                          invite_code=body.to_invite_code, points=body.points,
                                          client_token=body.client_token, now=utcnow())


class OpenGroupIn(Body):
    receiver: ReceiverIn


class JoinGroupIn(Body):
    receiver: ReceiverIn
    scene: str | None = Field(None, min_length=1, max_length=64, description="the sharer's scene, if shared")


def _receiver(r: ReceiverIn) -> orders.Receiver:
    return orders.Receiver(name=r.name, phone=r.phone, address=r.address)


@route(bp, "/group-buys", auth="member", response=Items[CampaignOut])
def group_campaigns(principal: Principal) -> dict[str, Any]:
    """Group-buy campaigns open now."""
    rows = groups.list_campaigns(tenant_id=principal.tenant_id, now=utcnow())
    return Items[CampaignOut](items=[groups.campaign_view(c) for c in rows])


@route(bp, "/group-buys/<int:campaign_id>/open", method="POST", auth="member", body=OpenGroupIn, status=201,
       response=GroupPlacedOut, errors=("group_campaign_not_found",))
def open_group(principal: Principal, campaign_id: int, body: OpenGroupIn) -> dict[str, Any]:
    """Open a group (开团) as its leader; pay the order to hold the seat."""
    now = utcnow()
    group, order = group_buy.open_group(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                        campaign_id=campaign_id, receiver=_receiver(body.receiver), now=now)
    return group_buy.placed_view(group, order, now=now)


@route(bp, "/group-buys/groups/<int:group_id>", auth="member", response=GroupPageOut,
       errors=("group_not_found",))
def group(principal: Principal, group_id: int) -> dict[str, Any]:
    """A group: its campaign, members, seats left and time left."""
    return group_buy.group_page(tenant_id=principal.tenant_id, group_id=group_id, now=utcnow())


@route(bp, "/group-buys/groups/<int:group_id>/join", method="POST", auth="member", body=JoinGroupIn, status=201,
       response=GroupPlacedOut,
       errors=("already_in_group", "group_expired", "group_full", "group_not_found"))
def join_group(principal: Principal, group_id: int, body: JoinGroupIn) -> dict[str, Any]:
    """Join a group (参团), through a share or not; pay the order to hold the seat."""
    now = utcnow()
    group, order = group_buy.join_group(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                        group_id=group_id, receiver=_receiver(body.receiver), scene=body.scene,
                                        now=now)
    return group_buy.placed_view(group, order, now=now)


class MaterialQuery(Query):
    category: str | None = Field(None, max_length=40)
    product_id: int | None = Field(None, ge=1, le=2**53)
    kind: Literal["image", "video", "copy"] | None = None
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(20, ge=1, le=50)


@route(bp, "/materials", auth="member", query=MaterialQuery, response=Page[MaterialSharedOut])
def material_library(principal: Principal, query: MaterialQuery) -> dict[str, Any]:
    """The material library (素材库), copy filled in with my share link."""
    return flow_materials.for_promoter(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                       category=query.category, product_id=query.product_id, kind=query.kind,
                                       before_id=query.before_id, limit=query.limit)


@route(bp, "/materials/<int:material_id>/download", method="POST", auth="member",
       response=MaterialSharedOut, errors=("material_not_found",))
def download_material(principal: Principal, material_id: int) -> dict[str, Any]:
    """Download a material (counted): pictures or video and my filled-in copy."""
    return flow_materials.take(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                               material_id=material_id, action="download", now=utcnow())


@route(bp, "/materials/<int:material_id>/share", method="POST", auth="member", response=MaterialSharedOut,
       errors=("material_not_found",))
def share_material(principal: Principal, material_id: int) -> dict[str, Any]:
    """I shared a material (counted); the copy and link to share."""
    return flow_materials.take(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                               material_id=material_id, action="share", now=utcnow())


@route(bp, "/materials/<int:material_id>/poster", method="POST", auth="member", raw=True, content="image/png",
       errors=("material_not_found",))
def material_poster(principal: Principal, material_id: int) -> Response:
    """My poster for a material (PNG): its product's poster, or my invite poster."""
    poster = flow_materials.poster(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                   material_id=material_id, now=utcnow())
    response = Response(poster.png, mimetype="image/png")
    response.cache_control.no_store = True
    return response
