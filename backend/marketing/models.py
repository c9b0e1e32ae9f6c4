"""Marketing tables: coupons and the coupons members hold, the tenant's marketing
policy.

Coupon stock never over-issues: `issued` only grows through one guarded UPDATE
(`issued < total_stock`), and a CHECK is the database's last word. A member's limit
per coupon is a unique slot number (1 … per_member_limit) on the coupons they hold,
so two racing claims of one member cannot both take the last slot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow

Fen = BigInteger().with_variant(Integer(), "sqlite")

COUPON_STATUSES = ("active", "stopped")
HELD_STATUSES = ("unused", "used")
ISSUE_SOURCES = ("claim", "grant", "new_member", "invite", "bot")


class Coupon(TenantScoped, Base):
    """A coupon the brand issues (优惠券): its rule, validity, stock and limits."""

    __tablename__ = "marketing_coupons"
    __table_args__ = (
        CheckConstraint("issued <= total_stock", name="stock_not_exceeded"),
        Index("ix_marketing_coupons_tenant_status", "tenant_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # amount | percent | threshold | shipping
    amount_off_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)
    percent_off: Mapped[str | None] = mapped_column(String(8))  # rate text, "0.15" = 15% off
    max_discount_fen: Mapped[int | None] = mapped_column(Fen)  # ceiling of a percent-off coupon
    threshold_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)  # 满 X (eligible lines)
    scope: Mapped[str] = mapped_column(String(16), default="all", nullable=False)
    scope_product_ids: Mapped[Any] = mapped_column(JSON, nullable=True)  # products (scope products / excluded)
    scope_categories: Mapped[Any] = mapped_column(JSON, nullable=True)  # category names (scope categories)
    # Validity: fixed dates, or valid_days from the moment it is claimed.
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_days: Mapped[int | None] = mapped_column(Integer)
    total_stock: Mapped[int] = mapped_column(Integer, nullable=False)
    issued: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    per_member_limit: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    claimable: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)  # coupon centre / product page
    status: Mapped[str] = mapped_column(String(16), default="active", nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class MemberCoupon(TenantScoped, Base):
    """One coupon a member holds, from claim to use (and back, when returned)."""

    __tablename__ = "marketing_member_coupons"
    tenant_id_index = False  # the unique keys start with tenant_id
    __table_args__ = (
        UniqueConstraint("tenant_id", "coupon_id", "member_id", "slot"),  # the per-member limit
        UniqueConstraint("tenant_id", "issue_key"),  # one gift per event (new member, invite)
        Index("ix_marketing_member_coupons_member", "tenant_id", "member_id", "status", "id"),
        Index("ix_marketing_member_coupons_order", "tenant_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    coupon_id: Mapped[int] = mapped_column(BigId, ForeignKey("marketing_coupons.id"), nullable=False)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("members.id"), nullable=False)
    slot: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    issue_key: Mapped[str | None] = mapped_column(String(64))
    issued_by: Mapped[str | None] = mapped_column(String(40))  # staff:ID for grants
    status: Mapped[str] = mapped_column(String(16), default="unused", nullable=False)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    order_id: Mapped[int | None] = mapped_column(BigId)  # the order it was used on
    discount_fen: Mapped[int] = mapped_column(Fen, default=0, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MarketingPolicy(TenantScoped, Base):
    """A tenant's marketing rules; tenants without a row use the defaults."""

    __tablename__ = "marketing_policies"
    __table_args__ = (UniqueConstraint("tenant_id"),)
    tenant_id_index = False

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # A refunded order gives its coupon back while the coupon is still valid.
    return_coupon_on_refund: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    new_member_coupon_id: Mapped[int | None] = mapped_column(BigId)  # 新人礼
    invite_coupon_id: Mapped[int | None] = mapped_column(BigId)  # to the promoter whose share brought a member
