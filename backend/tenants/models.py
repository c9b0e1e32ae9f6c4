"""Tenants (brands): one row per brand with its policy and encrypted credentials."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, UTCDateTime, utcnow
from backend.tenants.types import TenantStatus


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=TenantStatus.ACTIVE, nullable=False)
    # Public identifiers, in the clear because inbound calls are routed by them.
    mp_appid: Mapped[str | None] = mapped_column(String(40), unique=True)
    oa_appid: Mapped[str | None] = mapped_column(String(40), unique=True)
    pay_mchid: Mapped[str | None] = mapped_column(String(40))
    wecom_corpid: Mapped[str | None] = mapped_column(String(40))
    # Every secret (app secrets, OA token and AES key, pay keys, WeCom secret) as one
    # Fernet token; decrypted only inside backend/tenants/credentials.py.
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)

    # Binding policy (SPEC §2).
    bind_on: Mapped[str] = mapped_column(String(16), default="visit", nullable=False)
    bind_expire_days: Mapped[int | None] = mapped_column(Integer)
    allow_rebind: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    promoter_mode: Mapped[str] = mapped_column(String(16), default="auto", nullable=False)
    # promoter_mode = condition: {"kind": "first_purchase"} | {"kind": "spent", "min_fen": N}
    # | {"kind": "bought", "product_ids": [...]} (backend/members/promoters.py `qualifies`).
    promoter_condition: Mapped[dict | None] = mapped_column(JSON)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
