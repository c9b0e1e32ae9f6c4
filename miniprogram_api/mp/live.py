"""Mini-program live rooms: the list, entering a room (through a share: bound as any
share), buying at live prices without leaving it (边看边买)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint
from pydantic import Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.flows import checkout, live_selling
from backend.live import service as live
from backend.live.types import RoomStatus
from backend.marketing import points
from backend.orders import service as orders
from miniprogram_api.http import Body, Page, Query, page_of, route
from miniprogram_api.mp.marketing import ItemIn, QuoteIn, ReceiverIn
from miniprogram_api.schemas.marketing import CheckoutOrderOut, QuoteOut
from miniprogram_api.schemas.more import LiveEntryOut, LiveRoomOut

bp = Blueprint("mp_live", __name__, url_prefix="/api/v1/mp/live")

Id = Annotated[int, Field(strict=True, ge=1, le=2**53)]


class RoomPage(Query):
    status: RoomStatus | None = None
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(20, ge=1, le=50)


class EnterIn(Body):
    scene: str | None = Field(None, min_length=1, max_length=64, description="the sharer's scene, if shared")


class BuyIn(Body):
    items: list[ItemIn] = Field(min_length=1, max_length=orders.MAX_LINES)
    receiver: ReceiverIn
    remark: str = Field("", max_length=200)
    coupon: Id | Literal["best", "none"] = "best"
    points: int = Field(0, strict=True, ge=0, le=points.MAX_POINTS)


@route(bp, "/rooms", auth="member", query=RoomPage, response=Page[LiveRoomOut])
def rooms(principal: Principal, query: RoomPage) -> dict[str, Any]:
    """The brand's live rooms, newest first."""
    rows = live.list_rooms(tenant_id=principal.tenant_id, status=query.status, before_id=query.before_id,
                           limit=query.limit)
    return page_of(rows, lambda r: live.room_view(r, []), query.limit)


@route(bp, "/rooms/<int:room_id>/enter", method="POST", auth="member", body=EnterIn, response=LiveEntryOut,
       errors=("live_room_not_found",))
def enter(principal: Principal, room_id: int, body: EnterIn) -> dict[str, Any]:
    """Enter a room (through a share scene or not): stream, products at live prices, 讲解中."""
    return live_selling.enter_room(tenant_id=principal.tenant_id, member_id=principal.subject_id, room_id=room_id,
                                   scene=body.scene, now=utcnow())


@route(bp, "/rooms/<int:room_id>/quote", method="POST", auth="member", body=QuoteIn, response=QuoteOut,
       errors=("live_product_not_in_room", "live_room_closed", "live_room_not_found", "product_off_shelf",
               "sku_not_found"))
def quote(principal: Principal, room_id: int, body: QuoteIn) -> dict[str, Any]:
    """What buying these in the room would cost me: live prices, my coupons and points
    (what POST /rooms/<id>/orders then charges)."""
    return live_selling.quote_in_room(
        tenant_id=principal.tenant_id, member_id=principal.subject_id, room_id=room_id,
        items=[orders.LineRequest(sku_id=i.sku_id, quantity=i.quantity) for i in body.items],
        coupon=body.coupon, use_points=body.points, address=body.address, now=utcnow())


@route(bp, "/rooms/<int:room_id>/orders", method="POST", auth="member", body=BuyIn, status=201,
       response=CheckoutOrderOut,
       errors=("live_product_not_in_room", "live_room_closed", "live_room_not_found"))
def buy(principal: Principal, room_id: int, body: BuyIn) -> dict[str, Any]:
    """Buy in the room at its live prices; pay with /shop/orders/<id>/prepay."""
    order = live_selling.buy_in_room(
        tenant_id=principal.tenant_id, member_id=principal.subject_id, room_id=room_id,
        items=[orders.LineRequest(sku_id=i.sku_id, quantity=i.quantity) for i in body.items],
        receiver=orders.Receiver(name=body.receiver.name, phone=body.receiver.phone, address=body.receiver.address),
        coupon=body.coupon, use_points=body.points, remark=body.remark, now=utcnow())
    return checkout.order_out(order)
