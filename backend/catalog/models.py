"""Catalog: products and their SKUs (多规格).

A SKU holds its own price, cost price (the profit base of rewards), stock and
per-agent-level prices. Stock only changes through one conditional UPDATE
(`stock = stock - n WHERE stock >= n`), so concurrent buyers can never oversell;
the CHECK constraint is the database's own last word on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow
from backend.orm import Fen


class Product(TenantScoped, Base):
    __tablename__ = "catalog_products"
    __table_args__ = (Index("ix_catalog_products_tenant_shelf", "tenant_id", "on_shelf", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    subtitle: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    image_url: Mapped[str] = mapped_column(String(512), default="", nullable=False)
    # 商品分类 (a name the brand chooses): what coupon scopes and the material library group by.
    category: Mapped[str] = mapped_column(String(40), default="", server_default="", nullable=False)
    on_shelf: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # 销售权限: agent level keys allowed to buy; None = everyone.
    allowed_levels: Mapped[Any] = mapped_column(JSON)
    # 等级礼包: paying for this product raises the buyer to this agent level (None: an
    # ordinary product); a refund within the after-sales window takes it back.
    grants_level: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)


class Sku(TenantScoped, Base):
    __tablename__ = "catalog_skus"
    __table_args__ = (
        Index("ix_catalog_skus_tenant_product", "tenant_id", "product_id", "id"),
        CheckConstraint("stock >= 0", name="stock_nonnegative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("catalog_products.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)  # 规格, e.g. "500g 礼盒装"
    price_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # retail price of one piece
    cost_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)  # cost price of one piece
    # Price of one piece per agent level key ({"l1": 6000}); levels not listed pay price_fen.
    level_prices: Mapped[Any] = mapped_column(JSON)
    stock: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # pieces available
    sold: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # pieces reserved by orders
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class CatalogImage(TenantScoped, Base):
    """A product image, stored in the database (one embedded deployment needs no object
    store). Re-encoded on the way in, so what is served is always a plain image; named by
    the SHA-256 of its bytes, which is its public address (`/api/v1/media/<sha>.<ext>`)."""

    __tablename__ = "catalog_images"
    tenant_id_index = False  # the unique key starts with tenant_id
    __table_args__ = (UniqueConstraint("tenant_id", "sha256"), Index("ix_catalog_images_sha256", "sha256"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content_type: Mapped[str] = mapped_column(String(24), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary(16 * 1024 * 1024), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
