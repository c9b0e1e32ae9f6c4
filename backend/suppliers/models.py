"""Suppliers (供应商) on a tenant run as a platform: their accounts, applications,
products under review, the sub-orders they ship, their income through its life, and
their withdrawals.

Money itself lives in the ledger (accounts `supplier_frozen` / `supplier_available`,
owner key −supplier id): these rows hold the state machines and point at the postings.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow
from backend.orm import Fen
from backend.suppliers.types import (
    IncomeStatus,
    ReviewStatus,
    SharingStatus,
    SubOrderStatus,
    SupplierStatus,
    SupplierUserStatus,
    SupplierWithdrawalStatus,
)

SUPPLIER_STATUSES = tuple(SupplierStatus)
PRODUCT_REVIEW = tuple(ReviewStatus)
PAYOUT_MODES = ("manual",)  # bank_api (WeChat Pay transfer to a bank card) follows


class SupplierSettings(TenantScoped, Base):
    """A tenant's supplier rules; absent row = the defaults in service.DEFAULTS."""

    __tablename__ = "supplier_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    commission_rate: Mapped[str] = mapped_column(String(16), default="0.1", nullable=False)  # the platform's cut
    # {"茶叶": "0.08"}: a product category's rate (catalog category), used when the
    # supplier has no rate of its own.
    category_rates: Mapped[Any] = mapped_column(JSON, nullable=False, default=dict)
    # The members' rewards on a supplier's line come out of the supplier's income.
    suppliers_bear_rewards: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    profit_sharing: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)  # 分账 via WeChat Pay
    payout_mode: Mapped[str] = mapped_column(String(12), default="manual", nullable=False)  # manual | bank_api
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Supplier(TenantScoped, Base):
    """A supplier company: applied → active (approved) or rejected; active ↔ suspended."""

    __tablename__ = "suppliers"
    __table_args__ = (Index("ix_suppliers_tenant_status", "tenant_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(60), nullable=False)  # shown to buyers and operators
    company_name: Mapped[str] = mapped_column(String(100), nullable=False)
    license_no: Mapped[str] = mapped_column(String(32), nullable=False)  # 统一社会信用代码
    contact_name: Mapped[str] = mapped_column(String(40), nullable=False)
    contact_phone: Mapped[str] = mapped_column(String(20), nullable=False)
    materials: Mapped[Any] = mapped_column(JSON, nullable=False, default=list)  # [{"kind", "url"}]
    status: Mapped[str] = mapped_column(String(12), default=SupplierStatus.PENDING, nullable=False)
    commission_rate: Mapped[str | None] = mapped_column(String(16))  # its own rate; None = category/tenant
    sharing_receiver: Mapped[str | None] = mapped_column(String(32))  # its WeChat Pay mchid (分账接收方)
    bank_name: Mapped[str | None] = mapped_column(String(60))
    bank_account_name: Mapped[str | None] = mapped_column(String(100))
    bank_card_token: Mapped[str | None] = mapped_column(String(512))  # Fernet; never shown
    bank_card_last4: Mapped[str | None] = mapped_column(String(4))
    review_note: Mapped[str | None] = mapped_column(String(200))
    reviewed_by: Mapped[str | None] = mapped_column(String(80))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class SupplierUser(TenantScoped, Base):
    """A supplier's back-office login (role `supplier`): sees only its supplier's data."""

    __tablename__ = "supplier_users"
    __table_args__ = (UniqueConstraint("tenant_id", "username"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    supplier_id: Mapped[int] = mapped_column(BigId, nullable=False, index=True)
    username: Mapped[str] = mapped_column(String(60), nullable=False)
    display_name: Mapped[str] = mapped_column(String(60), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    status: Mapped[str] = mapped_column(String(12), default=SupplierUserStatus.ACTIVE, nullable=False)
    # Bumped by logout: tokens signed before stop working (backend/auth/revocation.py).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class SupplierProduct(TenantScoped, Base):
    """A catalog product owned by a supplier, and its review: pending → approved (on
    the shelf) or rejected (with a reason). A price or cost change waits in
    `pending_changes` for a new review; the live SKU keeps its old price meanwhile."""

    __tablename__ = "supplier_products"
    __table_args__ = (UniqueConstraint("tenant_id", "product_id"),
                      Index("ix_supplier_products_supplier", "tenant_id", "supplier_id", "id"),
                      Index("ix_supplier_products_review", "tenant_id", "review_status", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    supplier_id: Mapped[int] = mapped_column(BigId, nullable=False)
    product_id: Mapped[int] = mapped_column(BigId, nullable=False)
    review_status: Mapped[str] = mapped_column(String(12), default=ReviewStatus.PENDING, nullable=False)
    # {"<sku id>": {"price_fen": 9900, "cost_fen": 5000}, "category": "茶叶"} waiting for
    # the operator (the category sets the commission rate, so it is reviewed too).
    pending_changes: Mapped[Any] = mapped_column(JSON, nullable=True)
    review_note: Mapped[str | None] = mapped_column(String(200))
    reviewed_by: Mapped[str | None] = mapped_column(String(80))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first approval (on the shelf)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


SUB_ORDER_STATUSES = tuple(SubOrderStatus)


class SubOrder(TenantScoped, Base):
    """One supplier's part of a buyer's order (拆单): its lines, shipped by the supplier
    with its own logistics company and number."""

    __tablename__ = "supplier_sub_orders"
    __table_args__ = (UniqueConstraint("tenant_id", "order_id", "supplier_id"),
                      Index("ix_supplier_sub_orders_supplier", "tenant_id", "supplier_id", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(BigId, nullable=False)
    supplier_id: Mapped[int] = mapped_column(BigId, nullable=False)
    sub_no: Mapped[str] = mapped_column(String(40), nullable=False)  # order number + "-" + n
    line_ids: Mapped[Any] = mapped_column(JSON, nullable=False)  # the order lines it holds
    status: Mapped[str] = mapped_column(String(12), default=SubOrderStatus.OPEN, nullable=False)
    logistics_company: Mapped[str | None] = mapped_column(String(40))
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


INCOME_STATUSES = tuple(IncomeStatus)


class SupplierIncome(TenantScoped, Base):
    """One paid order line's income for its supplier, through its life (like a reward):
    frozen (paid) → settled (after completion and the after-sales window) → reversed
    (refund after settlement); or frozen → cancelled (refund before settlement). On an
    order paid for profit sharing, settlement goes frozen → sharing (split requested at
    WeChat Pay) → settled (split to the supplier's own merchant account, or into its
    balance when WeChat Pay closed the share).

    income = paid − commission (rate × paid, rounded down) − rewards (when the tenant
    makes suppliers bear them)."""

    __tablename__ = "supplier_income"
    tenant_id_index = False  # the unique key starts with tenant_id
    __table_args__ = (UniqueConstraint("tenant_id", "order_line_id"),
                      Index("ix_supplier_income_due", "tenant_id", "status", "settle_due_at", "id"),
                      Index("ix_supplier_income_status_due", "status", "settle_due_at"),
                      Index("ix_supplier_income_supplier", "tenant_id", "supplier_id", "id"),
                      Index("ix_supplier_income_order", "tenant_id", "order_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    supplier_id: Mapped[int] = mapped_column(BigId, nullable=False)
    order_id: Mapped[int] = mapped_column(BigId, nullable=False)
    order_line_id: Mapped[int] = mapped_column(BigId, nullable=False)
    paid_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    commission_rate: Mapped[str] = mapped_column(String(16), nullable=False)
    commission_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    rewards_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # borne by the supplier (0 if not)
    income_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    status: Mapped[str] = mapped_column(String(12), default=IncomeStatus.FROZEN, nullable=False)
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settle_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    freeze_posting_id: Mapped[int | None] = mapped_column(BigId)  # None when income is 0
    settle_posting_id: Mapped[int | None] = mapped_column(BigId)
    void_posting_id: Mapped[int | None] = mapped_column(BigId)
    share_id: Mapped[int | None] = mapped_column(BigId)  # the profit share it was settled through
    return_posting_id: Mapped[int | None] = mapped_column(BigId)  # its share came back (分账回退)


SHARING_STATUSES = tuple(SharingStatus)


class SharingOrder(TenantScoped, Base):
    """One order's profit-sharing order (分账单) at WeChat Pay: requested at settlement,
    finished when every share has its final result; failed when WeChat Pay refused it
    (the shares then go to the suppliers' balances). An order with nothing left to split
    (its suppliers' lines refunded, or no income) gets an unfreeze instead: unfreezing →
    unfrozen, so the platform's part is released without a split."""

    __tablename__ = "supplier_sharing_orders"
    __table_args__ = (UniqueConstraint("tenant_id", "order_id"), UniqueConstraint("tenant_id", "out_order_no"),
                      Index("ix_supplier_sharing_orders_open", "status", "updated_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(BigId, nullable=False)
    transaction_id: Mapped[str] = mapped_column(String(64), nullable=False)
    out_order_no: Mapped[str] = mapped_column(String(32), nullable=False)
    wechat_order_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default=SharingStatus.REQUESTED, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class SharingShare(TenantScoped, Base):
    """One supplier's share in a profit-sharing order, money in transit until WeChat Pay
    reports it SUCCESS (to the supplier's merchant account) or CLOSED (to its balance)."""

    __tablename__ = "supplier_sharing_shares"
    __table_args__ = (UniqueConstraint("tenant_id", "sharing_id", "supplier_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sharing_id: Mapped[int] = mapped_column(BigId, nullable=False)
    order_id: Mapped[int] = mapped_column(BigId, nullable=False)
    supplier_id: Mapped[int] = mapped_column(BigId, nullable=False)
    account: Mapped[str] = mapped_column(String(32), nullable=False)  # the receiver's mchid
    amount_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    result: Mapped[str] = mapped_column(String(12), default="PENDING", nullable=False)  # PENDING|SUCCESS|CLOSED
    request_posting_id: Mapped[int] = mapped_column(BigId, nullable=False)
    end_posting_id: Mapped[int | None] = mapped_column(BigId)


class SharingReturn(TenantScoped, Base):
    """A share taken back from a supplier (分账回退) before a refund of its lines."""

    __tablename__ = "supplier_sharing_returns"
    __table_args__ = (UniqueConstraint("tenant_id", "out_return_no"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(BigId, nullable=False)
    refund_no: Mapped[str] = mapped_column(String(32), nullable=False)
    supplier_id: Mapped[int] = mapped_column(BigId, nullable=False)
    out_return_no: Mapped[str] = mapped_column(String(32), nullable=False)
    amount_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    result: Mapped[str] = mapped_column(String(12), nullable=False)  # SUCCESS (only successes are kept)
    posting_id: Mapped[int] = mapped_column(BigId, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


SUPPLIER_WITHDRAWAL_STATUSES = tuple(SupplierWithdrawalStatus)


class SupplierWithdrawal(TenantScoped, Base):
    """A supplier's withdrawal to its bank card: the amount left the available balance
    when applied for. pending → approved → paying (bank transfer sent, or in a manual
    batch) → paid; rejected / failed return the money."""

    __tablename__ = "supplier_withdrawals"
    __table_args__ = (UniqueConstraint("tenant_id", "out_bill_no"),
                      UniqueConstraint("tenant_id", "supplier_id", "client_token"),
                      Index("ix_supplier_withdrawals_supplier_day", "tenant_id", "supplier_id", "day"),
                      Index("ix_supplier_withdrawals_status", "tenant_id", "status", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    supplier_id: Mapped[int] = mapped_column(BigId, nullable=False)
    client_token: Mapped[str | None] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    fee_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    net_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)  # China date of the application
    payout_mode: Mapped[str] = mapped_column(String(12), nullable=False)  # fixed when approved
    bank_name: Mapped[str] = mapped_column(String(60), nullable=False)
    bank_account_name: Mapped[str] = mapped_column(String(100), nullable=False)
    bank_card_token: Mapped[str] = mapped_column(String(512), nullable=False)  # Fernet snapshot
    bank_card_last4: Mapped[str] = mapped_column(String(4), nullable=False)
    out_bill_no: Mapped[str] = mapped_column(String(32), nullable=False)
    batch_no: Mapped[str | None] = mapped_column(String(32))  # the manual export it went out in
    bank_state: Mapped[str | None] = mapped_column(String(24))
    auto_approved: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    reviewed_by: Mapped[str | None] = mapped_column(String(80))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str | None] = mapped_column(String(200))
    fail_reason: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(String(200))
    hold_posting_id: Mapped[int | None] = mapped_column(BigId)
    end_posting_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
