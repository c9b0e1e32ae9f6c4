"""The catalog, orders, refunds, payments and payment issues as the API shows them."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from backend.orders.types import LineStatus, OrderStatus, RefundStatus
from miniprogram_api.http import Out, Timestamp
from miniprogram_api.schemas.finance import RequestPayment


class SkuAdminOut(Out):
    id: int
    product_id: int
    name: str
    price_fen: int
    price: str
    cost_fen: int
    level_prices: dict[str, int]
    stock: int
    sold: int
    enabled: bool


class ProductAdminOut(Out):
    id: int
    name: str
    subtitle: str
    category: str
    description: str
    image_url: str
    on_shelf: bool
    allowed_levels: list[str] | None
    grants_level: str | None
    skus: list[SkuAdminOut]
    created_at: Timestamp
    updated_at: Timestamp


class SkuBuyerOut(Out):
    id: int
    name: str
    price_fen: int
    price: str
    retail_price_fen: int
    in_stock: bool
    stock: int


class ProductBuyerOut(Out):
    id: int
    name: str
    subtitle: str
    category: str
    description: str
    image_url: str
    min_price_fen: int | None
    skus: list[SkuBuyerOut]


class Receiver(Out):
    name: str
    phone: str
    address: str


class OrderSource(Out):
    type: str
    id: int | None


class Logistics(Out):
    company: str
    tracking_no: str


class OrderLineOut(Out):
    id: int
    product_id: int
    sku_id: int
    product_name: str
    sku_name: str
    image_url: str
    quantity: int
    unit_price_fen: int
    paid_fen: int
    paid: str
    status: LineStatus
    refunded_fen: int


class OrderOut(Out):
    id: int
    order_no: str
    status: OrderStatus
    goods_fen: int
    freight_fen: int = Field(description="运费 by the tenant's rule, before a free-shipping coupon")
    freight_discount_fen: int = Field(description="what a free-shipping coupon took off the freight")
    discount_fen: int = Field(description="goods + freight − payable: activity prices, coupon, points")
    payable_fen: int
    payable: str
    paid_fen: int
    stored_fen: int
    offline_fen: int
    refunded_fen: int
    receiver: Receiver
    remark: str
    source: OrderSource | None
    logistics: Logistics | None
    pay_deadline: Timestamp
    created_at: Timestamp
    paid_at: Timestamp | None
    shipped_at: Timestamp | None
    received_at: Timestamp | None
    completed_at: Timestamp | None
    cancelled_at: Timestamp | None
    lines: list[OrderLineOut]


class OrderAdminOut(OrderOut):
    member_id: int
    transaction_id: str | None
    cancel_reason: str | None
    offline_reference: str | None
    offline_voucher_url: str | None


class RefundOut(Out):
    id: int
    refund_no: str
    order_id: int
    order_no: str = Field(description="the order's number (订单号), what buyers and staff quote")
    whole: bool
    keeps_goods: bool = Field(description="money only: the order keeps its goods and still ships (团长免单)")
    order_line_ids: list[int]
    amount_fen: int
    freight_fen: int = Field(description="the order's freight given back with this refund (in amount_fen)")
    stored_fen: int
    offline_fen: int
    amount: str
    reason: str
    status: RefundStatus
    requested_by: str
    decided_by: str | None
    wechat_status: str | None
    failure: str | None
    created_at: Timestamp
    submitted_at: Timestamp | None
    completed_at: Timestamp | None


class OrderDetailAdminOut(OrderAdminOut):
    refunds: list[RefundOut]


class PrepayOut(Out):
    order_id: int
    order_no: str
    appid: str
    amount_fen: int
    amount: str
    stored_fen: int
    request_payment: RequestPayment


class PaymentIssueOut(Out):
    id: int
    kind: str
    order_id: int | None
    refund_id: int | None
    out_trade_no: str | None
    expected_fen: int | None
    reported_fen: int | None
    details: Any
    deliveries: int
    created_at: Timestamp
    resolved_at: Timestamp | None
    resolved_by: str | None
    resolution: str | None


class OrderPolicyOut(Out):
    pay_timeout_minutes: int
    auto_complete_days: int
    freight_fen: int = Field(description="运费 per order (0: free delivery)")
    free_freight_over_fen: int | None = Field(description="满额包邮: goods of at least this much ship free")
    freight_by_region: dict[str, int] = Field(description="a fee per province instead of freight_fen, "
                                                          "matched on the start of the address")
    freight_refund: str = Field(description="unshipped | always | never: when a refund returns the freight")
