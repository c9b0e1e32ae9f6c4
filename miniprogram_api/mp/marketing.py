"""Mini-program marketing: the coupon centre, my coupons, and checkout with a coupon
(quote, then place the order)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint
from pydantic import Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.flows import checkout
from backend.marketing import coupons
from backend.orders import service as orders
from miniprogram_api.http import Body, Query, page_of, route

bp = Blueprint("mp_marketing", __name__, url_prefix="/api/v1/mp")

Id = Annotated[int, Field(strict=True, ge=1, le=2**53)]


class CentreQuery(Query):
    product_id: int | None = Field(None, ge=1, le=2**53)


class MyCouponsQuery(Query):
    status: Literal["unused", "used"] | None = None
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


class CheckoutIn(QuoteIn):
    receiver: ReceiverIn
    remark: str = Field("", max_length=200)
    source: SourceIn | None = None


def _items(body: QuoteIn) -> list[orders.LineRequest]:
    return [orders.LineRequest(sku_id=i.sku_id, quantity=i.quantity) for i in body.items]


@route(bp, "/coupons", auth="member", query=CentreQuery)
def coupon_centre(principal: Principal, query: CentreQuery) -> dict[str, Any]:
    """The coupon centre (领券中心); with product_id, the coupons that cover that product."""
    rows = coupons.claimable_coupons(tenant_id=principal.tenant_id, now=utcnow(), product_id=query.product_id,
                                     category=checkout.product_category(tenant_id=principal.tenant_id,
                                                                        product_id=query.product_id))
    return {"items": [coupons.coupon_view(c) for c in rows]}


@route(bp, "/coupons/<int:coupon_id>/claim", method="POST", auth="member", status=201)
def claim_coupon(principal: Principal, coupon_id: int) -> dict[str, Any]:
    """Claim a coupon (stock and my limit permitting)."""
    now = utcnow()
    held = coupons.issue_coupon(tenant_id=principal.tenant_id, coupon_id=coupon_id, member_id=principal.subject_id,
                                source="claim", now=now)
    return coupons.held_view(held, coupons.get_coupon(tenant_id=principal.tenant_id, coupon_id=coupon_id), now=now)


@route(bp, "/me/coupons", auth="member", query=MyCouponsQuery)
def my_coupons(principal: Principal, query: MyCouponsQuery) -> dict[str, Any]:
    """The coupons I hold, newest first (expired ones show as expired)."""
    now = utcnow()
    rows = coupons.member_coupons(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                  status=query.status, before_id=query.before_id, limit=query.limit)
    by_id = coupons.coupons_by_id(tenant_id=principal.tenant_id, ids=[h.coupon_id for h in rows])
    return page_of(rows, lambda h: coupons.held_view(h, by_id[h.coupon_id], now=now), query.limit)


@route(bp, "/checkout/quote", method="POST", auth="member", body=QuoteIn)
def quote(principal: Principal, body: QuoteIn) -> dict[str, Any]:
    """What an order would cost me: my coupons (usable or why not), the best picked."""
    return checkout.quote(tenant_id=principal.tenant_id, member_id=principal.subject_id, items=_items(body),
                          coupon=body.coupon, now=utcnow())


@route(bp, "/checkout/orders", method="POST", auth="member", body=CheckoutIn, status=201)
def place_order(principal: Principal, body: CheckoutIn) -> dict[str, Any]:
    """Place an order with a coupon; pay it with /shop/orders/<id>/prepay."""
    order = checkout.place_order(
        tenant_id=principal.tenant_id, member_id=principal.subject_id, items=_items(body),
        receiver=orders.Receiver(name=body.receiver.name, phone=body.receiver.phone, address=body.receiver.address),
        remark=body.remark, source_type=body.source.type if body.source else None,
        source_id=body.source.id if body.source else None, coupon=body.coupon, now=utcnow())
    return checkout.order_out(order)
