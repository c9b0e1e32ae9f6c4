"""Accounts, postings, entries and the balances kept for speed.

Sign convention: an account's balance is the sum of its entries; a positive balance
is money the account's holder has (a member's frozen or available rewards, money in
transit to payees, fees collected, the merchant's share). Money that entered from
outside through WeChat Pay shows as a negative `wechat_clearing` balance, so every
posting sums to zero and so do all accounts of a tenant.

Entries and postings are append-only: never updated, never deleted; a correction is
a new posting. Balances are a cache of the entries' sums, split into shards so that
busy accounts (the merchant, clearing, a top agent's frozen rewards) do not serialize
every payment on one row; an account's balance is the sum of its shards.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow
from backend.ledger.types import AccountKind
from backend.orm import Fen

# BIGINT amounts on MariaDB; INTEGER (64-bit anyway) on SQLite.


# Balance shards per account kind. A credit goes to one shard picked at random; a
# debit that must be covered (a withdrawal, a transfer) locks every shard and sums.
SHARDS = {
    AccountKind.MEMBER_FROZEN: 4,
    AccountKind.MEMBER_AVAILABLE: 4,
    AccountKind.MEMBER_STORED: 1,
    AccountKind.MERCHANT: 16,
    AccountKind.FEE_INCOME: 4,
    AccountKind.PLATFORM_FEES: 4,
    AccountKind.PAYOUT_TRANSIT: 8,
    AccountKind.WECHAT_CLEARING: 16,
    AccountKind.SUPPLIER_FROZEN: 4,
    AccountKind.SUPPLIER_AVAILABLE: 4,
    AccountKind.SHARING_TRANSIT: 4,
    AccountKind.OFFLINE_CLEARING: 1,
}
MAX_SHARDS = 64  # balance row id = account id × MAX_SHARDS + shard


def balance_row_id(account_id: int, shard: int) -> int:
    """The primary key of one balance shard: ordering by it orders by account id first."""
    return account_id * MAX_SHARDS + shard


class LedgerAccount(TenantScoped, Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "owner_key", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    owner_key: Mapped[int] = mapped_column(BigId, nullable=False)  # member id, or 0 for the tenant's own
    shards: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class LedgerBalance(Base):
    """One shard of an account's balance; the sum over shards equals the sum of entries."""

    __tablename__ = "ledger_balances"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)  # balance_row_id
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("ledger_accounts.id"), index=True,
                                            nullable=False)
    shard: Mapped[int] = mapped_column(Integer, nullable=False)
    balance_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)


class Posting(TenantScoped, Base):
    """One movement of money: its entries sum to zero. The idempotency key is unique per
    tenant, so posting the same thing twice returns the first."""

    __tablename__ = "ledger_postings"
    tenant_id_index = False  # the unique key starts with tenant_id
    __table_args__ = (UniqueConstraint("tenant_id", "idem_key"),
                      Index("ix_ledger_postings_tenant_time", "tenant_id", "created_at", "id"),
                      Index("ix_ledger_postings_tenant_order", "tenant_id", "order_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idem_key: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    memo: Mapped[str] = mapped_column(String(255), default="", nullable=False)  # Chinese, for people
    member_id: Mapped[int | None] = mapped_column(BigId)  # the member the movement is about
    order_id: Mapped[int | None] = mapped_column(BigId)
    order_line_id: Mapped[int | None] = mapped_column(BigId)
    withdrawal_id: Mapped[int | None] = mapped_column(BigId)
    reverses_id: Mapped[int | None] = mapped_column(BigId)  # the posting this one undoes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Entry(TenantScoped, Base):
    """One leg of a posting on one account; payout_id names the reward rule behind it."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_account", "account_id", "id"),
                      Index("ix_ledger_entries_posting", "posting_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    posting_id: Mapped[int] = mapped_column(BigId, ForeignKey("ledger_postings.id"), nullable=False)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("ledger_accounts.id"), nullable=False)
    amount_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # signed; a posting's entries sum to 0
    payout_id: Mapped[int | None] = mapped_column(BigId)  # reward_payouts.id when a reward rule is behind it
