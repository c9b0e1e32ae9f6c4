"""Orders, their lines, refunds, and each tenant's order policy.

States (SPEC §5): created → paid → shipped → received → completed; created →
cancelled (unpaid past the deadline, stock returned); a whole-order refund moves
the order to refunding → refunded (or back where it was if the refund fails); a
refund of some lines moves only those lines (refunding → refunded), and the order
becomes refunded once every line is. Every change of state happens under the
order's row lock; the payment path is the only writer of `paid`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow
from backend.orders.types import LineStatus, OrderStatus, RefundStatus, SourceType, StockSource
from backend.orm import Fen

ORDER_STATUSES = tuple(OrderStatus)
LINE_STATUSES = tuple(LineStatus)
REFUND_STATUSES = tuple(RefundStatus)
SOURCE_TYPES = tuple(SourceType)
STOCK_SOURCES = tuple(StockSource)


class Order(TenantScoped, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("order_no"),  # the out_trade_no at WeChat Pay
        Index("ix_orders_tenant_member", "tenant_id", "member_id", "id"),
        Index("ix_orders_tenant_status", "tenant_id", "status", "id"),
        Index("ix_orders_status_deadline", "status", "pay_deadline"),
        Index("ix_orders_status_shipped", "status", "shipped_at"),
        # A day's paid orders (daily summaries, staff workload): a range, not a scan.
        Index("ix_orders_tenant_paid", "tenant_id", "paid_at"),
        # The paid-order follow-up's backlog (backend/orders/paid.py): `= 1`, oldest first.
        Index("ix_orders_followup", "followup_pending", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_no: Mapped[str] = mapped_column(String(32), nullable=False)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("members.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.CREATED, nullable=False)
    goods_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # sum of the lines' amounts
    freight_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)  # by the tenant's rule (orders/rules.py)
    # What a free-shipping coupon took off the freight. payable = the lines' paid_fen +
    # freight − freight_discount: freight is never part of a line, so never of rewards.
    freight_discount_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0", nullable=False)
    payable_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # what the buyer is asked to pay
    paid_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)  # what WeChat Pay reported paid
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)  # refunds that succeeded
    # The other ways the buyer paid: stored value applied before WeChat Pay (the WeChat
    # order is for payable − stored), and money received outside WeChat Pay (线下支付,
    # recorded by finance with a voucher).
    stored_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0", nullable=False)
    offline_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0", nullable=False)
    offline_reference: Mapped[str | None] = mapped_column(String(64))  # bank transfer no. etc.
    offline_voucher_url: Mapped[str | None] = mapped_column(String(512))  # the voucher's image
    receiver_name: Mapped[str] = mapped_column(String(40), default="", nullable=False)
    receiver_phone: Mapped[str] = mapped_column(String(20), default="", nullable=False)
    receiver_address: Mapped[str] = mapped_column(String(255), default="", nullable=False)
    remark: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    # Attribution: the mini-shop or live room the order was placed in, if any.
    source_type: Mapped[str | None] = mapped_column(String(16))
    source_id: Mapped[int | None] = mapped_column(BigId)
    # Where the pieces come from: the catalog's stock (reserved at creation, returned on
    # cancel), an agent's cloud stock (drop-ship, backend/warehouse), or none (a restock
    # from an upline's cloud stock).
    stock_source: Mapped[str] = mapped_column(String(8), default="catalog", server_default="catalog",
                                              nullable=False)
    pay_deadline: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    logistics_company: Mapped[str | None] = mapped_column(String(40))
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(16))  # timeout | buyer | operator
    # True from payment until the paid-order follow-up (the buyer's binding, rewards,
    # ledger postings, alerts; backend/orders/paid.py) has run, then NULL: the backlog
    # is an index range of only the pending orders' keys.
    followup_pending: Mapped[bool | None] = mapped_column(Boolean)
    # Paid with settle_info.profit_sharing (分账): WeChat Pay keeps the money frozen until
    # it is split at settlement (set at checkout where the tenant enables it).
    profit_sharing: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0", nullable=False)
    # Where a whole-order refund returns the order if it fails.
    status_before_refund: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)


class OrderLine(TenantScoped, Base):
    __tablename__ = "order_lines"
    __table_args__ = (Index("ix_order_lines_tenant_order", "tenant_id", "order_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"), nullable=False)
    product_id: Mapped[int] = mapped_column(BigId, nullable=False)
    sku_id: Mapped[int] = mapped_column(BigId, nullable=False)
    product_name: Mapped[str] = mapped_column(String(100), nullable=False)
    sku_name: Mapped[str] = mapped_column(String(100), nullable=False)
    image_url: Mapped[str] = mapped_column(String(512), default="", nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # price of one piece for this buyer
    paid_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # what the line costs the buyer (total)
    cost_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # cost price × quantity (profit base)
    status: Mapped[str] = mapped_column(String(16), default=LineStatus.NORMAL, nullable=False)
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)


class Refund(TenantScoped, Base):
    """One refund of some lines of an order (or all of them), through WeChat Pay."""

    __tablename__ = "order_refunds"
    __table_args__ = (
        UniqueConstraint("refund_no"),  # the out_refund_no at WeChat Pay
        Index("ix_order_refunds_tenant_order", "tenant_id", "order_id"),
        Index("ix_order_refunds_tenant_status", "tenant_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    refund_no: Mapped[str] = mapped_column(String(32), nullable=False)
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"), nullable=False)
    whole: Mapped[bool] = mapped_column(default=False, nullable=False)  # covers every line left
    # Money only: the order keeps its goods and still ships (团长免单); its lines end normal.
    keeps_goods: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0", nullable=False)
    line_ids: Mapped[Any] = mapped_column(JSON, nullable=False)  # order line ids refunded
    amount_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # the lines' paid_fen + freight_fen
    # The order's freight given back with this refund (the one that leaves no goods, by
    # the tenant's rule; at most once per order among refunds not failed or rejected).
    freight_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0", nullable=False)
    # Parts of amount_fen that go back as stored value / offline, not through WeChat Pay
    # (WeChat Pay's part is refunded first; set when the refund is submitted).
    stored_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0", nullable=False)
    offline_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0", nullable=False)
    reason: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(80), nullable=False)  # member:ID | staff:ID
    decided_by: Mapped[str | None] = mapped_column(String(80))
    wechat_refund_id: Mapped[str | None] = mapped_column(String(64))
    wechat_status: Mapped[str | None] = mapped_column(String(16))  # PROCESSING, SUCCESS, ABNORMAL, CLOSED
    failure: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # accepted by WeChat Pay
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrderPolicy(TenantScoped, Base):
    """A tenant's order timings and freight rule; tenants without a row use the defaults
    (no freight)."""

    __tablename__ = "order_policies"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pay_timeout_minutes: Mapped[int] = mapped_column(Integer, default=30, nullable=False)
    auto_complete_days: Mapped[int] = mapped_column(Integer, default=10, nullable=False)
    # Freight (运费, backend/orders/rules.py): a flat fee per order, other fees for named
    # provinces ({"新疆": 2000}), free from a goods amount up, and what a refund returns.
    freight_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0", nullable=False)
    free_freight_over_fen: Mapped[int | None] = mapped_column(Fen)
    freight_by_region: Mapped[Any] = mapped_column(JSON, nullable=True)
    freight_refund: Mapped[str] = mapped_column(String(12), default="unshipped", server_default="unshipped",
                                                nullable=False)
