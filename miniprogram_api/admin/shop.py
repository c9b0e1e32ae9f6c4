"""Back-office shop: products and SKUs, stock, orders, shipping, refunds, payment issues
and the order timings. Writes need the boss or operator role and are audited."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint
from pydantic import Field

from backend.auth.tokens import Principal
from backend.catalog import service as catalog
from backend.db import utcnow
from backend.flows import catalog as catalog_flow
from backend.flows import payment_methods, sales_scope
from backend.orders import rules as freight_rules
from backend.orders import service as orders
from backend.orders.types import OrderStatus, RefundStatus
from backend.payments import service as payments
from miniprogram_api.http import Body, Page, Query, page_of, route
from miniprogram_api.schemas.orders import (
    OrderAdminOut,
    OrderDetailAdminOut,
    OrderPolicyOut,
    PaymentIssueOut,
    ProductAdminOut,
    RefundOut,
    SkuAdminOut,
)

bp = Blueprint("admin_orders", __name__, url_prefix="/api/v1/admin/shop")

MAX_FEN = catalog.MAX_PRICE_FEN
PriceFen = Annotated[int, Field(strict=True, ge=1, le=MAX_FEN)]
CostFen = Annotated[int, Field(strict=True, ge=0, le=MAX_FEN)]
Stock = Annotated[int, Field(strict=True, ge=0, le=catalog.MAX_STOCK)]
LevelKey = Annotated[str, Field(min_length=1, max_length=32)]
Id = Annotated[int, Field(strict=True, ge=1, le=2**53)]


class SkuIn(Body):
    name: str = Field(min_length=1, max_length=100)
    price_fen: PriceFen
    cost_fen: CostFen = 0
    stock: Stock = 0
    level_prices: dict[LevelKey, PriceFen] | None = None
    enabled: bool = True


class ProductIn(Body):
    name: str = Field(min_length=1, max_length=100)
    subtitle: str = Field("", max_length=200)
    description: str = Field("", max_length=20000)
    image_url: str = Field("", max_length=512)
    allowed_levels: list[LevelKey] | None = Field(None, max_length=20)
    on_shelf: bool = False
    category: str = Field("", max_length=40)
    grants_level: LevelKey | None = Field(None, description="等级礼包：购买后升级到的代理等级")
    skus: list[SkuIn] = Field(min_length=1, max_length=100)


class ProductPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=100)
    subtitle: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=20000)
    image_url: str | None = Field(None, max_length=512)
    allowed_levels: list[LevelKey] | None = Field(None, max_length=20)
    on_shelf: bool | None = None
    category: str | None = Field(None, max_length=40)
    grants_level: LevelKey | None = Field(None, description="等级礼包（null 取消）")


class SkuPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=100)
    price_fen: PriceFen | None = None
    cost_fen: CostFen | None = None
    level_prices: dict[LevelKey, PriceFen] | None = None
    enabled: bool | None = None


class StockIn(Body):
    delta: int = Field(strict=True, ge=-catalog.MAX_STOCK, le=catalog.MAX_STOCK)


class ProductPage(Query):
    after_id: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=200)
    on_shelf: bool | None = None
    q: str | None = Field(None, max_length=64)


class OrderPage(Query):
    status: OrderStatus | None = None
    member_id: int | None = Field(None, ge=1)
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(50, ge=1, le=200)


class ShipIn(Body):
    company: str = Field(min_length=1, max_length=40)
    tracking_no: str = Field(min_length=4, max_length=64, pattern=r"^[0-9A-Za-z\-]+$")


class OfflinePaymentIn(Body):
    reference: str = Field(min_length=2, max_length=64, description="转账流水号或凭证号")
    voucher_url: str | None = Field(None, max_length=512, pattern=r"^https?://",
                                    description="转账凭证图片地址（上传后的地址）")


class RefundIn(Body):
    order_line_id: Id | None = None
    reason: str = Field(min_length=1, max_length=200)


class RejectIn(Body):
    note: str = Field("", max_length=64)


class RefundPage(Query):
    status: RefundStatus | None = None
    order_id: int | None = Field(None, ge=1)
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(50, ge=1, le=200)


class IssuePage(Query):
    open_only: bool = True
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(50, ge=1, le=200)


class ResolveIn(Body):
    resolution: str = Field(min_length=1, max_length=200)


class PolicyIn(Body):
    pay_timeout_minutes: int | None = Field(None, strict=True, ge=5, le=1440)
    auto_complete_days: int | None = Field(None, strict=True, ge=1, le=60)
    freight_fen: int | None = Field(None, strict=True, ge=0, le=freight_rules.MAX_FREIGHT_FEN,
                                    description="运费 per order")
    free_freight_over_fen: int | None = Field(None, strict=True, ge=0, le=10**9,
                                              description="满额包邮 threshold; 0 turns it off")
    freight_by_region: dict[str, Annotated[int, Field(strict=True, ge=0, le=freight_rules.MAX_FREIGHT_FEN)]] | None = (
        Field(None, max_length=freight_rules.MAX_REGIONS, description='{"新疆": 2000}: the whole table, replaced'))
    freight_refund: Literal["unshipped", "always", "never"] | None = None


def _spec(s: SkuIn) -> catalog.SkuSpec:
    return catalog.SkuSpec(name=s.name, price_fen=s.price_fen, cost_fen=s.cost_fen, stock=s.stock,
                           level_prices=s.level_prices, enabled=s.enabled)


def _product_out(tenant_id: int, product: Any) -> dict[str, Any]:
    skus = catalog.skus_of(tenant_id=tenant_id, product_ids=[product.id])[product.id]
    return catalog.product_admin_view(product, skus)


def _order_out(order: Any) -> OrderDetailAdminOut:
    lines = orders.order_lines(tenant_id=order.tenant_id, order_ids=[order.id])[order.id]
    refunds = orders.list_refunds(tenant_id=order.tenant_id, order_id=order.id)
    return OrderDetailAdminOut(**orders.order_view(order, lines, admin=True),
                               refunds=[orders.refund_view(r, order_no=order.order_no) for r in refunds])


# ------------------------------------------------------------------ catalog


@route(bp, "/products", auth="staff", query=ProductPage, response=Page[ProductAdminOut])
def list_products(principal: Principal, query: ProductPage) -> dict[str, Any]:
    """Products with their SKUs (cost price and stock included)."""
    rows = catalog.list_products(tenant_id=principal.tenant_id, after_id=query.after_id, limit=query.limit,
                                 on_shelf=query.on_shelf, q=query.q)
    skus = catalog.skus_of(tenant_id=principal.tenant_id, product_ids=[p.id for p in rows])
    return page_of(rows, lambda p: catalog.product_admin_view(p, skus[p.id]), query.limit)


@route(bp, "/products", method="POST", auth="staff", body=ProductIn, status=201,
       response=ProductAdminOut, errors=("invalid_catalog_input",))
def create_product(principal: Principal, body: ProductIn) -> dict[str, Any]:
    """Create a product with its SKUs."""
    product = catalog_flow.create_product(
        tenant_id=principal.tenant_id, name=body.name, subtitle=body.subtitle, description=body.description,
        image_url=body.image_url, allowed_levels=body.allowed_levels, on_shelf=body.on_shelf,
        category=body.category, grants_level=body.grants_level, skus=[_spec(s) for s in body.skus],
        actor=principal.actor)
    return _product_out(principal.tenant_id, product)


@route(bp, "/products/<int:product_id>", auth="staff", response=ProductAdminOut,
       errors=("product_not_found",))
def get_product(principal: Principal, product_id: int) -> dict[str, Any]:
    """One product with its SKUs."""
    return _product_out(principal.tenant_id, catalog.get_product(tenant_id=principal.tenant_id,
                                                                  product_id=product_id))


@route(bp, "/products/<int:product_id>", method="PATCH", auth="staff", body=ProductPatch,
       response=ProductAdminOut, errors=("product_not_found",))
def update_product(principal: Principal, product_id: int, body: ProductPatch) -> dict[str, Any]:
    """Change texts, picture, sale permission (allowed_levels, null = everyone) or shelf state."""
    changes = body.model_dump(exclude_unset=True)
    product = catalog_flow.update_product(tenant_id=principal.tenant_id, product_id=product_id, changes=changes,
                                     actor=principal.actor)
    return _product_out(principal.tenant_id, product)


@route(bp, "/products/<int:product_id>/skus", method="POST", auth="staff", body=SkuIn,
       status=201, response=SkuAdminOut, errors=("product_not_found",))
def add_sku(principal: Principal, product_id: int, body: SkuIn) -> dict[str, Any]:
    """Add a SKU to a product."""
    sku = catalog_flow.add_sku(tenant_id=principal.tenant_id, product_id=product_id, spec=_spec(body),
                          actor=principal.actor)
    return catalog.sku_admin_view(sku)


@route(bp, "/skus/<int:sku_id>", method="PATCH", auth="staff", body=SkuPatch,
       response=SkuAdminOut, errors=("sku_not_found",))
def update_sku(principal: Principal, sku_id: int, body: SkuPatch) -> dict[str, Any]:
    """Change a SKU's name, prices, cost price, level prices or availability."""
    sku = catalog_flow.update_sku(tenant_id=principal.tenant_id, sku_id=sku_id,
                             changes=body.model_dump(exclude_unset=True), actor=principal.actor)
    return catalog.sku_admin_view(sku)


@route(bp, "/skus/<int:sku_id>/stock", method="POST", auth="staff", body=StockIn,
       response=SkuAdminOut, errors=("sku_not_found", "stock_negative"))
def adjust_stock(principal: Principal, sku_id: int, body: StockIn) -> dict[str, Any]:
    """Add (positive delta) or remove stock; never below zero."""
    sku = catalog.adjust_stock(tenant_id=principal.tenant_id, sku_id=sku_id, delta=body.delta,
                               actor=principal.actor)
    return catalog.sku_admin_view(sku)


# ------------------------------------------------------------------ orders


@route(bp, "/orders", auth="staff", query=OrderPage, response=Page[OrderAdminOut])
def list_orders(principal: Principal, query: OrderPage) -> dict[str, Any]:
    """Orders newest first, by state or member (sales: their own customers' orders)."""
    if principal.scope == "own":
        rows = sales_scope.list_orders(tenant_id=principal.tenant_id, staff_id=principal.subject_id,
                                       member_id=query.member_id, status=query.status,
                                       before_id=query.before_id, limit=query.limit)
    else:
        rows = orders.list_orders(tenant_id=principal.tenant_id, member_id=query.member_id,
                                  status=query.status, before_id=query.before_id, limit=query.limit)
    lines = orders.order_lines(tenant_id=principal.tenant_id, order_ids=[o.id for o in rows])
    return page_of(rows, lambda o: orders.order_view(o, lines[o.id], admin=True), query.limit)


@route(bp, "/orders/<int:order_id>", auth="staff", response=OrderDetailAdminOut,
       errors=("order_not_found",))
def get_order(principal: Principal, order_id: int) -> OrderDetailAdminOut:
    """One order with its lines and refunds (sales: only their own customers' orders)."""
    if principal.scope == "own":
        return _order_out(sales_scope.get_order(tenant_id=principal.tenant_id,
                                                staff_id=principal.subject_id, order_id=order_id))
    return _order_out(orders.get_order(tenant_id=principal.tenant_id, order_id=order_id))


@route(bp, "/orders/<int:order_id>/ship", method="POST", auth="staff", body=ShipIn,
       response=OrderDetailAdminOut, errors=("group_not_filled", "order_not_found"))
def ship(principal: Principal, order_id: int, body: ShipIn) -> OrderDetailAdminOut:
    """Ship a paid order (or correct a shipped order's tracking number)."""
    order = orders.ship_order(tenant_id=principal.tenant_id, order_id=order_id, company=body.company,
                              tracking_no=body.tracking_no, actor=principal.actor, now=utcnow())
    return _order_out(order)


@route(bp, "/orders/<int:order_id>/refunds", method="POST", auth="staff", body=RefundIn,
       status=201, response=RefundOut, errors=("nothing_to_refund", "order_not_found", "order_state_conflict"))
def refund(principal: Principal, order_id: int, body: RefundIn) -> dict[str, Any]:
    """Refund one line, or every line not yet refunded, through WeChat Pay."""
    r = payments.refund_order(tenant_id=principal.tenant_id, order_id=order_id, order_line_id=body.order_line_id,
                              reason=body.reason, actor=principal.actor, now=utcnow())
    return orders.refund_view(r)


@route(bp, "/orders/<int:order_id>/offline-payment", method="POST", auth="staff", body=OfflinePaymentIn,
       response=OrderDetailAdminOut, errors=("order_not_found", "order_state_conflict"))
def offline_payment(principal: Principal, order_id: int, body: OfflinePaymentIn) -> dict[str, Any]:
    """Finance marks an unpaid order paid offline (bank transfer) with its voucher (audited)."""
    payment_methods.record_offline_payment(tenant_id=principal.tenant_id, order_id=order_id,
                                           reference=body.reference, voucher_url=body.voucher_url,
                                           actor=principal.actor, now=utcnow())
    return _order_out(orders.get_order(tenant_id=principal.tenant_id, order_id=order_id))


@route(bp, "/refunds", auth="staff", query=RefundPage, response=Page[RefundOut])
def list_refunds(principal: Principal, query: RefundPage) -> dict[str, Any]:
    """Refunds newest first (requests waiting for a decision: status=requested)."""
    rows = orders.list_refunds(tenant_id=principal.tenant_id, order_id=query.order_id, status=query.status,
                               before_id=query.before_id, limit=query.limit)
    nos = orders.order_nos(tenant_id=principal.tenant_id, order_ids=[r.order_id for r in rows])
    return page_of(rows, lambda r: orders.refund_view(r, order_no=nos.get(r.order_id, "")), query.limit)


@route(bp, "/refunds/<int:refund_id>/approve", method="POST", auth="staff",
       response=RefundOut, errors=("refund_not_found", "refund_state_conflict"))
def approve_refund(principal: Principal, refund_id: int) -> dict[str, Any]:
    """Approve a buyer's refund request: it goes to WeChat Pay."""
    return orders.refund_view(payments.approve_refund(tenant_id=principal.tenant_id, refund_id=refund_id,
                                                      actor=principal.actor))


@route(bp, "/refunds/<int:refund_id>/reject", method="POST", auth="staff", body=RejectIn,
       response=RefundOut, errors=("refund_not_found",))
def reject_refund(principal: Principal, refund_id: int, body: RejectIn) -> dict[str, Any]:
    """Refuse a buyer's refund request."""
    return orders.refund_view(orders.reject_refund(tenant_id=principal.tenant_id, refund_id=refund_id,
                                                   actor=principal.actor, now=utcnow(), note=body.note))


# ------------------------------------------------------------------ payment issues and policy


@route(bp, "/payment-issues", auth="staff", query=IssuePage, response=Page[PaymentIssueOut])
def list_issues(principal: Principal, query: IssuePage) -> dict[str, Any]:
    """Notifications refused or unmatched (wrong amount, unknown order, paid after cancel …)."""
    rows = payments.list_issues(tenant_id=principal.tenant_id, open_only=query.open_only,
                                before_id=query.before_id, limit=query.limit)
    return page_of(rows, payments.issue_view, query.limit)


@route(bp, "/payment-issues/<int:issue_id>/resolve", method="POST", auth="staff", body=ResolveIn,
       response=PaymentIssueOut, errors=("payment_issue_not_found",))
def resolve_issue(principal: Principal, issue_id: int, body: ResolveIn) -> dict[str, Any]:
    """Mark a payment issue handled."""
    return payments.issue_view(payments.resolve_issue(tenant_id=principal.tenant_id, issue_id=issue_id,
                                                      actor=principal.actor, resolution=body.resolution,
                                                      now=utcnow()))


@route(bp, "/order-policy", auth="staff", response=OrderPolicyOut)
def get_policy(principal: Principal) -> dict[str, Any]:
    """Unpaid timeout (minutes), automatic completion after shipping (days), freight rule."""
    return orders.policy_view(orders.order_policy(tenant_id=principal.tenant_id))


@route(bp, "/order-policy", method="PATCH", auth="staff", body=PolicyIn, response=OrderPolicyOut,
       errors=("invalid_order_input",))
def update_policy(principal: Principal, body: PolicyIn) -> dict[str, Any]:
    """Change the unpaid timeout, the automatic completion or the freight rule (运费)."""
    return orders.policy_view(orders.update_order_policy(
        tenant_id=principal.tenant_id, changes=body.model_dump(exclude_none=True), actor=principal.actor))
