"""Code batches, codes, shipments of codes to agents, scans and 窜货 cases.

A code is 20 characters of Crockford base32 from 100 random bits (secrets): never
sequential, unguessable; `seq` numbers a code inside its batch so ranges can be
assigned to an agent's shipment without listing codes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.anticounterfeit.types import AlertStatus
from backend.db import Base, BigId, TenantScoped, UTCDateTime


class CodeBatch(TenantScoped, Base):
    __tablename__ = "ac_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    product_id: Mapped[int] = mapped_column(BigId, nullable=False)
    product_name: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    label: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    created_by: Mapped[str] = mapped_column(String(40), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Code(Base):
    """One printed code. Not TenantScoped by mixin: the public scan finds it by its
    globally unique value; tenant_id is still stored and checked."""

    __tablename__ = "ac_codes"
    __table_args__ = (UniqueConstraint("code"), Index("ix_ac_codes_batch_seq", "batch_id", "seq"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(BigId, nullable=False)
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("ac_batches.id"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)  # 1..size within the batch
    code: Mapped[str] = mapped_column(String(24), nullable=False)
    shipment_id: Mapped[int | None] = mapped_column(BigId)
    agent_id: Mapped[int | None] = mapped_column(BigId)
    scan_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    first_scan_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_province: Mapped[str | None] = mapped_column(String(20))
    first_city: Mapped[str | None] = mapped_column(String(20))


class Shipment(TenantScoped, Base):
    """Codes of a batch (a seq range) shipped to an agent."""

    __tablename__ = "ac_shipments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agent_id: Mapped[int] = mapped_column(BigId, nullable=False)
    batch_id: Mapped[int] = mapped_column(BigId, nullable=False)
    seq_from: Mapped[int] = mapped_column(Integer, nullable=False)
    seq_to: Mapped[int] = mapped_column(Integer, nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    note: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    created_by: Mapped[str] = mapped_column(String(40), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Scan(TenantScoped, Base):
    __tablename__ = "ac_scans"
    tenant_id_index = False
    __table_args__ = (Index("ix_ac_scans_code", "code_id", "id"),
                      Index("ix_ac_scans_agent_region", "tenant_id", "agent_id", "province", "scanned_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code_id: Mapped[int] = mapped_column(BigId, nullable=False)
    agent_id: Mapped[int | None] = mapped_column(BigId)
    province: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(20))
    outside: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)  # outside the agent's regions
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class DiversionCase(TenantScoped, Base):
    """窜货: an agent's codes scanned repeatedly in a province outside its authorization."""

    __tablename__ = "ac_diversion_cases"
    tenant_id_index = False
    __table_args__ = (UniqueConstraint("tenant_id", "agent_id", "province"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agent_id: Mapped[int] = mapped_column(BigId, nullable=False)
    province: Mapped[str] = mapped_column(String(20), nullable=False)
    cities: Mapped[str] = mapped_column(String(255), default="", nullable=False)
    scans: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    codes: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    status: Mapped[str] = mapped_column(String(12), default=AlertStatus.OPEN, nullable=False)  # open | closed
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    note: Mapped[str] = mapped_column(String(200), default="", nullable=False)
