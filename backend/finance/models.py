"""Finance: per-tenant settings, each order line's rewards through their life, the
settlement high-water mark, withdrawals, balance transfers and recharges.

Money itself lives in the ledger (backend/ledger): these rows hold the state machines
and point at the postings that moved the money.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow
from backend.finance.types import RechargeStatus, RewardStatus, WithdrawalStatus
from backend.orm import Fen


class FinanceSettings(TenantScoped, Base):
    """A tenant's finance rules. Absent row = the defaults below."""

    __tablename__ = "finance_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    settle_after_days: Mapped[int] = mapped_column(Integer, default=7, nullable=False)
    withdraw_min_fen: Mapped[int] = mapped_column(Fen, default=100, nullable=False)
    withdraw_fee_rate: Mapped[str] = mapped_column(String(16), default="0", nullable=False)  # "0.006"
    withdraw_fee_min_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)
    withdraw_daily_limit_fen: Mapped[int | None] = mapped_column(Fen)  # per member per day; None = none
    withdraw_daily_count: Mapped[int | None] = mapped_column(Integer)  # per member per day; None = none
    auto_approve_below_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)  # 0 = all manual
    transfer_enabled: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    transfer_min_fen: Mapped[int] = mapped_column(Fen, default=1, nullable=False)
    # 充值送: [{"min_fen": 10000, "bonus_fen": 1000}, …], the highest tier reached applies.
    recharge_bonus: Mapped[Any] = mapped_column(JSON, nullable=False, default=list)
    recharge_min_fen: Mapped[int] = mapped_column(Fen, default=100, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


REWARD_STATUSES = tuple(RewardStatus)


class RewardAccrual(TenantScoped, Base):
    """One paid order line's rewards through their life:
    frozen (paid) → settled (N days after the order completed) → reversed (refund after
    settlement); or frozen → cancelled (refund before settlement)."""

    __tablename__ = "finance_reward_accruals"
    tenant_id_index = False  # the unique key starts with tenant_id
    __table_args__ = (UniqueConstraint("tenant_id", "order_line_id"),
                      Index("ix_finance_reward_accruals_due", "tenant_id", "status", "settle_due_at", "id"),
                      Index("ix_finance_reward_accruals_status_due", "status", "settle_due_at"),
                      Index("ix_finance_reward_accruals_order", "tenant_id", "order_id"),
                      # the dashboard's daily facts (backend/analytics): frozen and ended per day
                      Index("ix_finance_reward_accruals_frozen_at", "tenant_id", "frozen_at"),
                      Index("ix_finance_reward_accruals_ended_at", "tenant_id", "ended_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(BigId, nullable=False)
    order_line_id: Mapped[int] = mapped_column(BigId, nullable=False)
    status: Mapped[str] = mapped_column(String(12), default=RewardStatus.FROZEN, nullable=False)
    amount_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # the members' share of the line
    beneficiaries: Mapped[int] = mapped_column(Integer, nullable=False)
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the order completed
    settle_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # settled, cancelled or reversed
    freeze_posting_id: Mapped[int] = mapped_column(BigId, nullable=False)
    settle_posting_id: Mapped[int | None] = mapped_column(BigId)
    void_posting_id: Mapped[int | None] = mapped_column(BigId)  # the cancel or reversal


class SettlementMark(TenantScoped, Base):
    """The settlement job's high-water mark: every accrual at or before (through_at,
    through_id) in (settle_due_at, id) order is settled or ended. Completion never
    schedules an accrual at or before the mark (it waits on this row's shared lock
    while the job moves it)."""

    __tablename__ = "finance_settlement_marks"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    through_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    through_id: Mapped[int] = mapped_column(BigId, default=0, nullable=False)
    settled_total: Mapped[int] = mapped_column(BigId, default=0, nullable=False)  # accruals settled so far
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


WITHDRAWAL_STATUSES = tuple(WithdrawalStatus)


class Withdrawal(TenantScoped, Base):
    """A member's withdrawal: the amount left the available balance when applied for.

    pending (review) → approved → paying (merchant transfer created, the payee confirms)
    → paid; or → rejected / failed / cancelled, each of which returns the money."""

    __tablename__ = "finance_withdrawals"
    __table_args__ = (UniqueConstraint("tenant_id", "out_bill_no"),
                      UniqueConstraint("tenant_id", "member_id", "client_token"),
                      Index("ix_finance_withdrawals_member_day", "tenant_id", "member_id", "day"),
                      Index("ix_finance_withdrawals_status", "tenant_id", "status", "id"),
                      Index("ix_finance_withdrawals_open", "status", "updated_at"),
                      Index("ix_finance_withdrawals_paid_at", "tenant_id", "paid_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, nullable=False)
    client_token: Mapped[str | None] = mapped_column(String(64))  # the app's retry key
    amount_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # taken from the balance
    fee_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    net_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # paid to the member = amount − fee
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), default="wechat", nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)  # China date of the application
    openid: Mapped[str | None] = mapped_column(String(64))
    real_name: Mapped[str | None] = mapped_column(String(32))  # required by WeChat from 2000 yuan
    out_bill_no: Mapped[str] = mapped_column(String(32), nullable=False)
    transfer_bill_no: Mapped[str | None] = mapped_column(String(64))
    transfer_state: Mapped[str | None] = mapped_column(String(24))
    package_info: Mapped[str | None] = mapped_column(String(512))  # for wx.requestMerchantTransfer
    auto_approved: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    reviewed_by: Mapped[str | None] = mapped_column(String(80))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str | None] = mapped_column(String(200))
    fail_reason: Mapped[str | None] = mapped_column(String(200))
    payout_attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_error: Mapped[str | None] = mapped_column(String(200))
    hold_posting_id: Mapped[int | None] = mapped_column(BigId)
    end_posting_id: Mapped[int | None] = mapped_column(BigId)  # the payout or the return
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WithdrawalDay(TenantScoped, Base):
    """What a member has withdrawn on one China day (amount and count of applications
    not returned), for the daily limits: one row read and written under the member's
    balance lock by unique key, so concurrent applications of different members never
    lock each other's ranges."""

    __tablename__ = "finance_withdrawal_days"
    __table_args__ = (UniqueConstraint("tenant_id", "member_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    amount_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)
    count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class BalanceTransfer(TenantScoped, Base):
    """余额转赠: stored value moved from one member to another."""

    __tablename__ = "finance_balance_transfers"
    __table_args__ = (UniqueConstraint("tenant_id", "from_member_id", "client_token"),
                      Index("ix_finance_balance_transfers_to", "tenant_id", "to_member_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    from_member_id: Mapped[int] = mapped_column(BigId, nullable=False)
    to_member_id: Mapped[int] = mapped_column(BigId, nullable=False)
    amount_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    note: Mapped[str] = mapped_column(String(60), default="", nullable=False)
    client_token: Mapped[str] = mapped_column(String(64), nullable=False)
    posting_id: Mapped[int] = mapped_column(BigId, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


RECHARGE_STATUSES = tuple(RechargeStatus)


class Recharge(TenantScoped, Base):
    """充值: a member pays through WeChat Pay; stored value plus the tier's bonus (充值送)."""

    __tablename__ = "finance_recharges"
    __table_args__ = (UniqueConstraint("tenant_id", "out_trade_no"),
                      Index("ix_finance_recharges_member", "tenant_id", "member_id", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, nullable=False)
    amount_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    bonus_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # fixed when created
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    out_trade_no: Mapped[str] = mapped_column(String(32), nullable=False)
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    posting_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FinanceCursor(Base):
    """Where a scanning job stands (e.g. the last reward payout id it posted), across
    tenants. It only moves past rows old enough that no transaction can still commit
    one below it."""

    __tablename__ = "finance_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(BigId, default=0, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
