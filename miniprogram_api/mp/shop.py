"""Mini-program shop: browse the catalog, place and pay orders, confirm receipt, ask
for refunds. Prices are the buyer's own (per agent level)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from flask import Blueprint, Response
from pydantic import Field

from backend.auth.tokens import Principal
from backend.catalog import cache as catalog_cache
from backend.catalog import service as catalog
from backend.db import utcnow
from backend.flows import checkout, payment_methods
from backend.flows import suppliers as supplier_flows
from backend.marketing.points import MAX_POINTS
from backend.members import levels as member_levels
from backend.members import service as members
from backend.orders import service as orders
from backend.orders.types import OrderStatus
from backend.payments import service as payments
from miniprogram_api.http import Body, Items, Page, Query, page_of, route
from miniprogram_api.schemas.marketing import PLACE_ORDER_ERRORS, CheckoutOrderOut
from miniprogram_api.schemas.more import SandboxPaidOut, StoredPaidOut
from miniprogram_api.schemas.orders import OrderOut, PrepayOut, ProductBuyerOut, RefundOut
from miniprogram_api.schemas.suppliers import SubOrderOut

bp = Blueprint("shop", __name__, url_prefix="/api/v1/mp/shop")

Id = Annotated[int, Field(strict=True, ge=1, le=2**53)]


class ProductPage(Query):
    after_id: int = Field(0, ge=0)
    limit: int = Field(20, ge=1, le=50)


class ItemIn(Body):
    sku_id: Id
    quantity: int = Field(strict=True, ge=1, le=orders.MAX_QUANTITY)


class ReceiverIn(Body):
    name: str = Field(min_length=1, max_length=40)
    phone: str = Field(min_length=5, max_length=20, pattern=r"^[0-9+\- ]+$")
    address: str = Field(min_length=4, max_length=255)


class SourceIn(Body):
    type: Literal["shop", "live", "agent"]  # agent: an agent's share link (drop-ship from its cloud stock)
    id: Id


class OrderIn(Body):
    items: list[ItemIn] = Field(min_length=1, max_length=orders.MAX_LINES)
    receiver: ReceiverIn
    remark: str = Field("", max_length=200)
    source: SourceIn | None = None
    coupon: Id | Literal["best", "none"] = Field("none", description="a held coupon id, best or none (default: "
                                                                     "none, as before coupons existed)")
    points: int = Field(0, strict=True, ge=0, le=MAX_POINTS, description="points to spend")


class OrderPage(Query):
    status: OrderStatus | None = None
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(20, ge=1, le=50)


class RefundIn(Body):
    order_line_id: Id | None = None
    reason: str = Field(min_length=1, max_length=200)


def _pricing(principal: Principal) -> tuple[str | None, Decimal | None]:
    """The buyer's agent level and member-level discount: what prices the pages show."""
    me = members.get_member(tenant_id=principal.tenant_id, member_id=principal.subject_id)
    return me.agent_level, member_levels.member_discount(tenant_id=principal.tenant_id,
                                                         member_level=me.member_level)


def _order_out(order: Any) -> dict[str, Any]:
    lines = orders.order_lines(tenant_id=order.tenant_id, order_ids=[order.id])[order.id]
    return orders.order_view(order, lines)


@route(bp, "/products", auth="member", query=ProductPage, response=Page[ProductBuyerOut])
def products(principal: Principal, query: ProductPage) -> Response:
    """On-shelf products I may buy, with my prices (from the cache, keyed by the catalog
    version and my pricing: backend/catalog/cache.py)."""
    agent_level, member_level = members.pricing_facts(tenant_id=principal.tenant_id, member_id=principal.subject_id)
    discount = member_levels.member_discount(tenant_id=principal.tenant_id, member_level=member_level)

    def page() -> dict[str, Any]:
        rows = catalog.browse_products(tenant_id=principal.tenant_id, agent_level=agent_level,
                                       after_id=query.after_id, limit=query.limit)
        skus = catalog.skus_of(tenant_id=principal.tenant_id, product_ids=[p.id for p in rows])
        data = page_of(rows, lambda p: catalog.product_buyer_view(p, skus[p.id], agent_level=agent_level,
                                                                  member_discount=discount), query.limit)
        # Validated and rendered as the route would, once per version: hits answer the bytes.
        return Page[ProductBuyerOut].model_validate(data).model_dump(mode="json", by_alias=True)

    body = catalog_cache.cached_json(tenant_id=principal.tenant_id,
                                     parts=(agent_level, discount, query.after_id, query.limit), compute=page)
    return Response(body, content_type="application/json")


@route(bp, "/products/<int:product_id>", auth="member", response=ProductBuyerOut,
       errors=("product_not_found",))
def product(principal: Principal, product_id: int) -> dict[str, Any]:
    """One product with its SKUs at my prices."""
    level, discount = _pricing(principal)
    p = catalog.visible_product(tenant_id=principal.tenant_id, product_id=product_id, agent_level=level)
    skus = catalog.skus_of(tenant_id=principal.tenant_id, product_ids=[p.id])[p.id]
    return catalog.product_buyer_view(p, skus, agent_level=level, member_discount=discount)


@route(bp, "/orders", method="POST", auth="member", body=OrderIn, status=201, response=CheckoutOrderOut,
       errors=PLACE_ORDER_ERRORS)
def create_order(principal: Principal, body: OrderIn) -> dict[str, Any]:
    """Place an order: the freight by the brand's rule, a coupon and points if asked for
    (backend/flows/checkout.py, the one way an order is placed, as POST
    /checkout/orders); the stock is reserved until the payment deadline (an agent's link
    or shop ships from the agent's cloud stock, backend/flows/agent_channel.py)."""
    order = checkout.place_order(
        tenant_id=principal.tenant_id, member_id=principal.subject_id,
        items=[orders.LineRequest(sku_id=i.sku_id, quantity=i.quantity) for i in body.items],
        receiver=orders.Receiver(name=body.receiver.name, phone=body.receiver.phone,
                                 address=body.receiver.address),
        remark=body.remark, source_type=body.source.type if body.source else None,
        source_id=body.source.id if body.source else None, coupon=body.coupon, use_points=body.points,
        now=utcnow())
    return checkout.order_out(order)


@route(bp, "/orders", auth="member", query=OrderPage, response=Page[OrderOut])
def my_orders(principal: Principal, query: OrderPage) -> dict[str, Any]:
    """My orders, newest first."""
    rows = orders.list_orders(tenant_id=principal.tenant_id, member_id=principal.subject_id, status=query.status,
                              before_id=query.before_id, limit=query.limit)
    lines = orders.order_lines(tenant_id=principal.tenant_id, order_ids=[o.id for o in rows])
    return page_of(rows, lambda o: orders.order_view(o, lines[o.id]), query.limit)


@route(bp, "/orders/<int:order_id>", auth="member", response=OrderOut, errors=("order_not_found",))
def my_order(principal: Principal, order_id: int) -> dict[str, Any]:
    """One of my orders."""
    return _order_out(orders.get_order(tenant_id=principal.tenant_id, order_id=order_id,
                                       member_id=principal.subject_id))


@route(bp, "/orders/<int:order_id>/shipments", auth="member", response=Items[SubOrderOut],
       errors=("order_not_found",))
def my_shipments(principal: Principal, order_id: int) -> dict[str, Any]:
    """The parcels of my order: one per supplier, each with its logistics company and number."""
    order = orders.get_order(tenant_id=principal.tenant_id, order_id=order_id, member_id=principal.subject_id)
    return Items[SubOrderOut](items=supplier_flows.order_sub_orders(tenant_id=principal.tenant_id, order_id=order.id))


@route(bp, "/orders/<int:order_id>/prepay", method="POST", auth="member", response=PrepayOut,
       errors=("order_not_found", "order_state_conflict"))
def prepay(principal: Principal, order_id: int) -> dict[str, Any]:
    """The parameters for wx.requestPayment."""
    return payments.prepay(tenant_id=principal.tenant_id, member_id=principal.subject_id, order_id=order_id,
                           now=utcnow())


class StoredPayIn(Body):
    amount_fen: int | None = Field(None, ge=1, le=10**10,
                                   description="用余额支付的金额（分）；不填为全部应付金额，其余再用微信支付")


@route(bp, "/orders/<int:order_id>/pay-stored", method="POST", auth="member", body=StoredPayIn,
       response=StoredPaidOut, errors=("insufficient_balance", "order_not_found", "order_state_conflict"))
def pay_stored(principal: Principal, order_id: int, body: StoredPayIn) -> dict[str, Any]:
    """Pay my unpaid order with stored value, in whole or in part (before wx.requestPayment)."""
    return payment_methods.pay_with_stored_value(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                                 order_id=order_id, amount_fen=body.amount_fen, now=utcnow())


@route(bp, "/orders/<int:order_id>/cancel", method="POST", auth="member", response=OrderOut,
       errors=("order_not_found",))
def cancel(principal: Principal, order_id: int) -> dict[str, Any]:
    """Cancel my unpaid order."""
    order = payments.cancel_unpaid(tenant_id=principal.tenant_id, order_id=order_id, now=utcnow(),
                                   member_id=principal.subject_id)
    return _order_out(order)


@route(bp, "/orders/<int:order_id>/receive", method="POST", auth="member", response=OrderOut,
       errors=("order_not_found",))
def receive(principal: Principal, order_id: int) -> dict[str, Any]:
    """Confirm I received my order."""
    order = orders.confirm_receipt(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                   order_id=order_id, now=utcnow())
    return _order_out(order)


@route(bp, "/orders/<int:order_id>/refunds", method="POST", auth="member", body=RefundIn, status=201,
       response=RefundOut, errors=("order_not_found", "restock_not_refundable"))
def request_refund(principal: Principal, order_id: int, body: RefundIn) -> dict[str, Any]:
    """Ask for a refund of one line or of the whole order."""
    refund = payments.request_refund(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                     order_id=order_id, order_line_id=body.order_line_id, reason=body.reason,
                                     now=utcnow())
    return orders.refund_view(refund)


@route(bp, "/orders/<int:order_id>/refunds", auth="member", response=Items[RefundOut],
       errors=("order_not_found",))
def my_refunds(principal: Principal, order_id: int) -> Items[RefundOut]:
    """The refunds of one of my orders."""
    order = orders.get_order(tenant_id=principal.tenant_id, order_id=order_id, member_id=principal.subject_id)
    refunds = orders.list_refunds(tenant_id=principal.tenant_id, order_id=order.id)
    return Items[RefundOut](items=[orders.refund_view(r) for r in refunds])
@route(bp, "/orders/<int:order_id>/sandbox-pay", method="POST", auth="member", response=SandboxPaidOut,
       errors=("order_not_found",))
def sandbox_pay(principal: Principal, order_id: int) -> dict[str, Any]:
    """Sandbox mode only (the H5 shop outside WeChat): pay my order as wx.requestPayment
    would; the order turns paid when the sandbox's signed notification arrives."""
    return payments.pay_in_sandbox(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                   order_id=order_id, now=utcnow())
