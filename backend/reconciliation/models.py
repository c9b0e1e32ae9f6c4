"""A day's reconciliation of WeChat Pay's bills against the ledger, and the differences
it found for the operator."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime
from backend.orm import Fen
from backend.reconciliation.types import DifferenceStatus

DIFFERENCE_KINDS = ("missing_in_ledger", "missing_in_bill", "amount_mismatch", "fund_flow_total")


class ReconRun(TenantScoped, Base):
    """One tenant's reconciliation of one China day (run again: updated in place)."""

    __tablename__ = "recon_runs"
    __table_args__ = (UniqueConstraint("tenant_id", "bill_date"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    bill_date: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)  # matched | differences | failed
    trade_rows: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    fund_rows: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    differences: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    bill_net_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)  # fund-flow income − expense
    ledger_net_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)  # −Σ wechat_clearing that day
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ReconDifference(TenantScoped, Base):
    """One difference between a bill and the ledger, open until the operator resolves it."""

    __tablename__ = "recon_differences"
    __table_args__ = (UniqueConstraint("tenant_id", "run_id", "kind", "ref"),
                      Index("ix_recon_differences_open", "tenant_id", "status", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(BigId, nullable=False)
    bill_date: Mapped[date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    ref: Mapped[str] = mapped_column(String(64), nullable=False)  # out_trade_no, out_refund_no or the day
    bill_fen: Mapped[int | None] = mapped_column(Fen)
    ledger_fen: Mapped[int | None] = mapped_column(Fen)
    note: Mapped[str] = mapped_column(String(255), default="", nullable=False)
    status: Mapped[str] = mapped_column(String(12), default=DifferenceStatus.OPEN, nullable=False)  # open | resolved
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    resolution: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
