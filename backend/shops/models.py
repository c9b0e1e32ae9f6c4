"""A promoter's mini-shop, the products it shows (in the owner's order), and who visited.

One shop per member per tenant. `version` changes whenever something a shop poster
shows changes (name, intro, banner), so poster caches follow it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow
from backend.shops.types import ShopStatus

SHOP_STATUSES = tuple(ShopStatus)


class Shop(TenantScoped, Base):
    __tablename__ = "shops"
    __table_args__ = (UniqueConstraint("tenant_id", "owner_member_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_member_id: Mapped[int] = mapped_column(BigId, ForeignKey("members.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(30), nullable=False)
    intro: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    banner_url: Mapped[str] = mapped_column(String(512), default="", nullable=False)
    video_url: Mapped[str] = mapped_column(String(512), default="", nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=ShopStatus.OPEN, nullable=False)
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ShopItem(TenantScoped, Base):
    """A product the shop shows; `position` orders them (0 first)."""

    __tablename__ = "shop_items"
    __table_args__ = (
        UniqueConstraint("shop_id", "product_id"),
        Index("ix_shop_items_shop_position", "shop_id", "position"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id"), nullable=False)
    # The catalog's product id (the catalog domain owns the product row).
    product_id: Mapped[int] = mapped_column(BigId, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ShopVisit(TenantScoped, Base):
    """One row per (shop, visitor): first and last visit, count, and whether the visit bound them."""

    __tablename__ = "shop_visits"
    __table_args__ = (
        UniqueConstraint("shop_id", "member_id"),
        Index("ix_shop_visits_member_last", "tenant_id", "member_id", "last_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(BigId, ForeignKey("shops.id"), nullable=False)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("members.id"), nullable=False)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    visits: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    # Set when a visit through this shop bound the visitor (or parked a pending binding).
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
