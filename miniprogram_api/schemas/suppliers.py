"""Suppliers, their products, sub-orders, income, statements and withdrawals as the API shows them."""

from __future__ import annotations

from datetime import date
from typing import Any

from miniprogram_api.http import Out, Timestamp
from miniprogram_api.schemas.orders import Logistics, OrderLineOut, ProductAdminOut, Receiver


class SupplierRulesOut(Out):
    commission_rate: str
    category_rates: dict[str, str]
    suppliers_bear_rewards: bool
    profit_sharing: bool
    payout_mode: str


class BankCardOut(Out):
    bank_name: str | None
    account_name: str | None
    card_no: str


class SupplierOut(Out):
    id: int
    name: str
    company_name: str
    license_no: str
    contact_name: str
    contact_phone: str
    materials: list[Any]
    status: str
    review_note: str | None
    reviewed_at: Timestamp | None
    commission_rate: str | None
    bank_card: BankCardOut | None
    created_at: Timestamp | None


class SupplierAdminOut(SupplierOut):
    reviewed_by: str | None
    sharing_receiver: str | None


class IncomeByStatus(Out):
    lines: int
    paid_fen: int
    commission_fen: int
    rewards_fen: int
    income_fen: int


class IncomeSummaryOut(Out):
    frozen_fen: int
    available_fen: int
    by_status: dict[str, IncomeByStatus]


class SupplierDetailOut(SupplierAdminOut):
    income: IncomeSummaryOut


class SupplierUserOut(Out):
    id: int
    supplier_id: int
    username: str
    display_name: str
    role: str
    status: str


class SupplierSessionOut(Out):
    token: str
    user: SupplierUserOut
    supplier: SupplierOut
    permissions: list[str]  # what the role may do (backend/auth/policy.py): the web menu


class ProductReview(Out):
    product_id: int
    supplier_id: int
    review_status: str
    pending_changes: Any
    review_note: str | None
    reviewed_at: Timestamp | None
    approved_at: Timestamp | None
    submitted_at: Timestamp | None


class SupplierProductOut(ProductAdminOut):
    review: ProductReview


class SubOrderOut(Out):
    id: int
    sub_no: str
    order_id: int
    supplier_id: int
    order_line_ids: list[int]
    goods_fen: int
    status: str
    logistics: Logistics | None
    shipped_at: Timestamp | None
    created_at: Timestamp | None


class IncomeLine(Out):
    id: int
    order_id: int
    order_line_id: int
    supplier_id: int
    paid_fen: int
    commission_rate: str
    commission_fen: int
    rewards_fen: int
    income_fen: int
    status: str
    settle_due_at: Timestamp | None
    ended_at: Timestamp | None


class SupplierOrderOut(SubOrderOut):
    order_no: str
    order_status: str
    receiver: Receiver
    remark: str
    paid_at: Timestamp | None
    lines: list[OrderLineOut]
    income: list[IncomeLine]


class SharingShare(Out):
    supplier_id: int
    account: str
    amount_fen: int
    result: str | None


class SharingReturn(Out):
    supplier_id: int
    refund_no: str
    amount_fen: int
    result: str | None


class SharingOut(Out):
    out_order_no: str
    status: str
    attempts: int
    last_error: str | None
    shares: list[SharingShare]
    returns: list[SharingReturn]


class OrderSplitOut(Out):
    items: list[SubOrderOut]
    sharing: SharingOut | None


class SupplierStatementLine(Out):
    id: int
    at: Timestamp
    posting_id: int
    type: str
    title: str
    account: str
    account_title: str
    amount_fen: int
    amount: str
    memo: str
    order_id: int | None
    order_line_id: int | None
    withdrawal_id: int | None


class SupplierWithdrawalOut(Out):
    id: int
    supplier_id: int
    amount_fen: int
    fee_fen: int
    net_fen: int
    status: str
    status_text: str
    bank_name: str | None
    account_name: str | None
    card_no: str
    created_at: Timestamp
    paid_at: Timestamp | None
    review_note: str | None
    fail_reason: str | None


class SupplierWithdrawalAdminOut(SupplierWithdrawalOut):
    out_bill_no: str
    batch_no: str | None
    payout_mode: str
    auto_approved: bool
    reviewed_by: str | None
    day: date
