"""Money as the API shows it: wallets, statements, withdrawals, transfers, recharges,
the tenant's books and the ledger check."""

from __future__ import annotations

from datetime import date

from backend.finance.types import RechargeStatus, WithdrawalStatus
from miniprogram_api.http import Out, Timestamp


class WalletRules(Out):
    withdraw_min_fen: int
    withdraw_fee_rate: str
    withdraw_fee_min_fen: int
    withdraw_daily_limit_fen: int | None
    withdraw_daily_count: int | None
    settle_after_days: int
    transfer_enabled: bool


class WalletToday(Out):
    withdrawn_fen: int
    count: int
    remaining_fen: int | None


class WalletOut(Out):
    frozen_fen: int
    available_fen: int
    stored_fen: int
    withdrawing_fen: int
    withdrawn_fen: int
    today: WalletToday
    rules: WalletRules


class RuleBehind(Out):
    """The reward rule behind a ledger entry (the payout it came from)."""

    payout_id: int
    kind: str
    title: str
    level: int | None
    agent_level: str | None
    base: str
    base_fen: int
    rate: str | None
    plan_version: int
    explanation: str


class StatementLine(Out):
    id: int
    at: Timestamp
    posting_id: int
    type: str
    title: str
    account: str
    account_title: str
    owner_id: int | None
    amount_fen: int
    amount: str
    memo: str
    order_id: int | None
    order_line_id: int | None
    withdrawal_id: int | None
    rule: RuleBehind | None


class PostingEntry(Out):
    account: str
    account_title: str | None
    owner_id: int | None
    amount_fen: int
    rule: RuleBehind | None


class PostingOut(Out):
    id: int
    at: Timestamp
    type: str
    title: str
    key: str
    memo: str
    member_id: int | None
    order_id: int | None
    order_line_id: int | None
    withdrawal_id: int | None
    reverses_id: int | None
    entries: list[PostingEntry]


class AccountTotal(Out):
    title: str
    balance_fen: int


class AccrualTotal(Out):
    lines: int
    amount_fen: int


class SettlementMark(Out):
    through_at: Timestamp | None
    through_id: int
    settled_total: int


class TenantSummaryOut(Out):
    accounts: dict[str, AccountTotal]
    total_fen: int
    rewards: dict[str, AccrualTotal]
    settlement: SettlementMark


class WithdrawalOut(Out):
    id: int
    amount_fen: int
    fee_fen: int
    net_fen: int
    status: WithdrawalStatus
    status_text: str
    channel: str
    created_at: Timestamp
    reviewed_at: Timestamp | None
    paid_at: Timestamp | None
    review_note: str | None
    fail_reason: str | None
    package_info: str | None


class TransferConfirm(Out):
    """What wx.requestMerchantTransfer takes."""

    mchId: str  # noqa: N815 (WeChat's names)
    appId: str  # noqa: N815
    package: str


class MyWithdrawalOut(WithdrawalOut):
    confirm: TransferConfirm | None


class WithdrawalAdminOut(WithdrawalOut):
    member_id: int
    out_bill_no: str
    transfer_bill_no: str | None
    transfer_state: str | None
    auto_approved: bool
    reviewed_by: str | None
    payout_attempts: int
    last_error: str | None
    day: date


class TransferOut(Out):
    id: int
    to_member_id: int
    amount_fen: int
    note: str
    created_at: Timestamp


class RequestPayment(Out):
    """wx.requestPayment's parameters."""

    timeStamp: str  # noqa: N815 (WeChat's names)
    nonceStr: str  # noqa: N815
    package: str
    signType: str  # noqa: N815
    paySign: str  # noqa: N815


class RechargeOut(Out):
    id: int
    amount_fen: int
    bonus_fen: int
    status: RechargeStatus
    out_trade_no: str
    created_at: Timestamp
    paid_at: Timestamp | None


class RechargeStartOut(RechargeOut):
    request_payment: RequestPayment


class BonusTierOut(Out):
    min_fen: int
    bonus_fen: int


class FinanceRulesOut(Out):
    settle_after_days: int
    withdraw_min_fen: int
    withdraw_fee_rate: str
    withdraw_fee_min_fen: int
    withdraw_daily_limit_fen: int | None
    withdraw_daily_count: int | None
    auto_approve_below_fen: int
    transfer_enabled: bool
    transfer_min_fen: int
    recharge_min_fen: int
    recharge_bonus: list[BonusTierOut]


class BalanceDifference(Out):
    account_id: int
    kind: str
    owner_key: int
    balance_fen: int
    entries_fen: int


class LedgerCheckOut(Out):
    tenant_id: int | None
    ok: bool
    accounts: int
    postings: int
    entries: int
    entries_total_fen: int
    balances_total_fen: int
    differences: list[BalanceDifference]
    unbalanced_postings: list[int]
    missing_shards: int
    fixed: int
