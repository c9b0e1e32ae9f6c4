"""The pieces ledger and the documents that move pieces.

Accounts (`stock_balances`) are (kind, owner, SKU):
- `agent`: an agent's cloud stock (owner = member id); never below zero (CHECK and a
  guarded UPDATE);
- `supply` (owner 0): pieces the brand issued into the cloud from its own stock; it
  goes negative by what it issued, so every posting sums to zero;
- `held` (owner 0): pieces set aside for a pending document (a restock from an upline
  awaiting payment, a transfer awaiting confirmation);
- `shipped` (owner 0): pieces that left the brand's warehouse (pickups, drop-ship).

A posting is a set of entries summing to zero per SKU with a unique idempotency key per
tenant; entries are never updated. A balance equals the sum of its entries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime
from backend.orm import Fen
from backend.warehouse.types import PickupStatus, RestockStatus, TransferStatus

Pieces = BigInteger().with_variant(Integer(), "sqlite")

ACCOUNT_KINDS = ("agent", "supply", "held", "shipped")


class StockBalance(TenantScoped, Base):
    __tablename__ = "stock_balances"
    tenant_id_index = False
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "owner_id", "sku_id"),
        CheckConstraint("pieces >= 0 OR kind = 'supply'", name="pieces_not_negative"),
        Index("ix_stock_balances_owner", "tenant_id", "owner_id", "kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    owner_id: Mapped[int] = mapped_column(BigId, nullable=False)  # member id; 0 for the brand's accounts
    sku_id: Mapped[int] = mapped_column(BigId, nullable=False)
    pieces: Mapped[int] = mapped_column(Pieces, default=0, nullable=False)


class StockPosting(TenantScoped, Base):
    __tablename__ = "stock_postings"
    tenant_id_index = False
    __table_args__ = (UniqueConstraint("tenant_id", "idem_key"),
                      Index("ix_stock_postings_ref", "tenant_id", "ref_type", "ref_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idem_key: Mapped[str] = mapped_column(String(80), nullable=False)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    ref_type: Mapped[str | None] = mapped_column(String(16))  # restock | transfer | pickup | dropship
    ref_id: Mapped[int | None] = mapped_column(BigId)
    memo: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class StockEntry(TenantScoped, Base):
    __tablename__ = "stock_entries"
    tenant_id_index = False
    __table_args__ = (Index("ix_stock_entries_balance", "tenant_id", "balance_id", "id"),
                      Index("ix_stock_entries_posting", "posting_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    posting_id: Mapped[int] = mapped_column(BigId, nullable=False)
    balance_id: Mapped[int] = mapped_column(BigId, nullable=False)
    delta: Mapped[int] = mapped_column(Pieces, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


RESTOCK_STATUSES = tuple(RestockStatus)


class Restock(TenantScoped, Base):
    """进货单: pieces bought into an agent's cloud stock from its upline or the platform,
    paid as an order of the orders domain (source_type "restock")."""

    __tablename__ = "warehouse_restocks"
    tenant_id_index = False
    __table_args__ = (UniqueConstraint("tenant_id", "order_id"),
                      Index("ix_warehouse_restocks_buyer", "tenant_id", "buyer_id", "id"),
                      Index("ix_warehouse_restocks_supplier", "tenant_id", "supplier_id", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    buyer_id: Mapped[int] = mapped_column(BigId, nullable=False)
    supplier_id: Mapped[int] = mapped_column(BigId, nullable=False)  # upline member id; 0 = the platform
    order_id: Mapped[int] = mapped_column(BigId, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    settlement_mode: Mapped[str] = mapped_column(String(12), nullable=False)  # platform | upline
    lines: Mapped[Any] = mapped_column(JSON, nullable=False)  # [{"sku_id", "quantity", "unit_price_fen"}]
    pieces: Mapped[int] = mapped_column(Integer, nullable=False)
    amount_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    paid_via: Mapped[str | None] = mapped_column(String(12))  # wechat | stored
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


TRANSFER_STATUSES = tuple(TransferStatus)


class Transfer(TenantScoped, Base):
    """线上自由流转: pieces from an agent to a downline agent (confirmed by the receiver
    when the tenant wants it)."""

    __tablename__ = "warehouse_transfers"
    tenant_id_index = False
    __table_args__ = (UniqueConstraint("tenant_id", "from_id", "client_token"),
                      Index("ix_warehouse_transfers_to", "tenant_id", "to_id", "status", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    from_id: Mapped[int] = mapped_column(BigId, nullable=False)
    to_id: Mapped[int] = mapped_column(BigId, nullable=False)
    sku_id: Mapped[int] = mapped_column(BigId, nullable=False)
    pieces: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    client_token: Mapped[str] = mapped_column(String(64), nullable=False)
    note: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


PICKUP_STATUSES = tuple(PickupStatus)


class Pickup(TenantScoped, Base):
    """提货: an agent's own pieces shipped to an address, freight paid from stored value."""

    __tablename__ = "warehouse_pickups"
    tenant_id_index = False
    __table_args__ = (UniqueConstraint("tenant_id", "member_id", "client_token"),
                      Index("ix_warehouse_pickups_status", "tenant_id", "status", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, nullable=False)
    sku_id: Mapped[int] = mapped_column(BigId, nullable=False)
    pieces: Mapped[int] = mapped_column(Integer, nullable=False)
    freight_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    client_token: Mapped[str] = mapped_column(String(64), nullable=False)
    receiver_name: Mapped[str] = mapped_column(String(40), nullable=False)
    receiver_phone: Mapped[str] = mapped_column(String(20), nullable=False)
    receiver_address: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    logistics_company: Mapped[str | None] = mapped_column(String(40))
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Dropship(TenantScoped, Base):
    """厂家一件代发: a retail order whose pieces come out of an agent's cloud stock."""

    __tablename__ = "warehouse_dropships"
    tenant_id_index = False
    __table_args__ = (UniqueConstraint("tenant_id", "order_id"),
                      Index("ix_warehouse_dropships_agent", "tenant_id", "agent_id", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(BigId, nullable=False)
    agent_id: Mapped[int] = mapped_column(BigId, nullable=False)
    lines: Mapped[Any] = mapped_column(JSON, nullable=False)  # {"sku_id": quantity}
    status: Mapped[str] = mapped_column(String(12), nullable=False)  # DropshipStatus
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
