"""Channel policy, applications, authorizations and certificates.

An authorization says who is whose agent, at which level (a key of the reward plan's
agent levels), for which products (`product_ids` and/or `categories`, the catalog's
category names; both null = every product, else the union: backend/agents/rules.py)
and regions (`regions`, null = nationwide; else a list of {"province", "city"?}), and
until when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.agents.types import ApplicationStatus, AuthorizationStatus, PackageStatus
from backend.db import Base, BigId, TenantScoped, UTCDateTime
from backend.orm import Fen


class ChannelSettings(TenantScoped, Base):
    """The tenant's channel policy (defaults when it has no row)."""

    __tablename__ = "agent_channel_settings"
    tenant_id_index = False
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    review_by: Mapped[str] = mapped_column(String(8), default="hq", nullable=False)  # hq | upline
    settlement_mode: Mapped[str] = mapped_column(String(12), default="platform", nullable=False)  # platform | upline
    dropship_shortage: Mapped[str] = mapped_column(String(12), default="refuse", nullable=False)  # refuse | platform
    transfer_confirmation: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    pickup_freight_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)  # per pickup
    certificate_days: Mapped[int] = mapped_column(Integer, default=365, nullable=False)  # default validity
    # {"l1": {"min_pieces": 10, "max_pieces": 5000}}: pieces per restock, by level key
    restock_limits: Mapped[Any] = mapped_column(JSON)
    # An application's level package: paid before the review may approve it
    # (before_review), or taken from the applicant's stored value at approval if still
    # unpaid (on_approval).
    package_payment: Mapped[str] = mapped_column(String(16), default="before_review", server_default="before_review",
                                                 nullable=False)
    # Refunds of paid restocks by the brand: none, whole orders only, or single lines too.
    restock_refund: Mapped[str] = mapped_column(String(8), default="whole", server_default="whole", nullable=False)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


APPLICATION_STATUSES = tuple(ApplicationStatus)


class Application(TenantScoped, Base):
    __tablename__ = "agent_applications"
    tenant_id_index = False
    __table_args__ = (Index("ix_agent_applications_member", "tenant_id", "member_id", "id"),
                      Index("ix_agent_applications_review", "tenant_id", "status", "reviewer_id", "id"),
                      Index("ix_agent_applications_package", "tenant_id", "package_order_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, nullable=False)
    level: Mapped[str] = mapped_column(String(32), nullable=False)
    real_name: Mapped[str] = mapped_column(String(40), nullable=False)
    id_number: Mapped[str] = mapped_column(String(32), nullable=False)
    phone: Mapped[str] = mapped_column(String(20), nullable=False)
    province: Mapped[str] = mapped_column(String(20), nullable=False)
    city: Mapped[str | None] = mapped_column(String(20))
    images: Mapped[Any] = mapped_column(JSON, nullable=False)  # uploaded image URLs
    categories: Mapped[Any] = mapped_column(JSON, nullable=True)  # product categories asked for; null = as HQ decides
    package_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)  # the package order's amount
    # The level package bought with the application (a SKU of a product granting the
    # level): an order of the orders domain (source agent_apply), paid by WeChat Pay or
    # stored value. none | unpaid | paid | refunding | refunded | cancelled
    package_sku_id: Mapped[int | None] = mapped_column(BigId)
    package_order_id: Mapped[int | None] = mapped_column(BigId)
    package_status: Mapped[str] = mapped_column(String(12), default=PackageStatus.NONE, server_default=PackageStatus.NONE,
                                                nullable=False)
    reviewer_id: Mapped[int] = mapped_column(BigId, default=0, nullable=False)  # upline member; 0 = HQ
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    reason: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


AUTH_STATUSES = tuple(AuthorizationStatus)


class Authorization(TenantScoped, Base):
    __tablename__ = "agent_authorizations"
    tenant_id_index = False
    __table_args__ = (UniqueConstraint("tenant_id", "member_id"),
                      Index("ix_agent_authorizations_upline", "tenant_id", "upline_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, nullable=False)
    upline_id: Mapped[int] = mapped_column(BigId, default=0, nullable=False)  # supervising agent; 0 = HQ
    level: Mapped[str] = mapped_column(String(32), nullable=False)
    holder_name: Mapped[str] = mapped_column(String(40), nullable=False)
    product_ids: Mapped[Any] = mapped_column(JSON)  # null = no product list (see categories)
    categories: Mapped[Any] = mapped_column(JSON, nullable=True)  # catalog category names; null = no category list
    regions: Mapped[Any] = mapped_column(JSON)  # null = nationwide
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    status_reason: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Certificate(TenantScoped, Base):
    """代理证书: one per issue (approval, level change, renewal); the newest of an
    authorization is valid until revoked or superseded."""

    __tablename__ = "agent_certificates"
    __table_args__ = (UniqueConstraint("serial"),
                      Index("ix_agent_certificates_auth", "tenant_id", "authorization_id", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    serial: Mapped[str] = mapped_column(String(24), nullable=False)
    authorization_id: Mapped[int] = mapped_column(BigId, nullable=False)
    member_id: Mapped[int] = mapped_column(BigId, nullable=False)
    holder_name: Mapped[str] = mapped_column(String(40), nullable=False)
    level: Mapped[str] = mapped_column(String(32), nullable=False)
    level_name: Mapped[str] = mapped_column(String(40), nullable=False)
    products_text: Mapped[str] = mapped_column(String(255), nullable=False)
    region_text: Mapped[str] = mapped_column(String(255), nullable=False)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)  # valid | superseded | revoked
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
