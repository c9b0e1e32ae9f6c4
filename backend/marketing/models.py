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
from backend.marketing.types import GroupStatus, HeldCouponStatus, MaterialStatus, OfferStatus, SeatStatus
from backend.orm import Fen

COUPON_STATUSES = tuple(OfferStatus)
HELD_STATUSES = tuple(HeldCouponStatus)
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
    status: Mapped[str] = mapped_column(String(16), default=OfferStatus.ACTIVE, nullable=False)
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
    status: Mapped[str] = mapped_column(String(16), default=HeldCouponStatus.UNUSED, nullable=False)
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
    # Points (积分): what one point is worth at checkout, the share of an order points may
    # pay, what is earned per yuan paid (on completion), per daily sign-in and per member
    # a share brings; points expire this many days after they are credited (0: never).
    point_value_fen: Mapped[int] = mapped_column(Integer, default=1, server_default="1", nullable=False)
    points_max_ratio: Mapped[str] = mapped_column(String(8), default="0.5", server_default="0.5", nullable=False)
    earn_points_per_yuan: Mapped[int] = mapped_column(Integer, default=1, server_default="1", nullable=False)
    signin_points: Mapped[int] = mapped_column(Integer, default=5, server_default="5", nullable=False)
    bind_points: Mapped[int] = mapped_column(Integer, default=10, server_default="10", nullable=False)
    points_expire_days: Mapped[int] = mapped_column(Integer, default=365, server_default="365", nullable=False)


class PointsAccount(TenantScoped, Base):
    """A member's points balance: a cache of the sum of its entries (rebuildable, see
    `flask marketing points-check`), changed only by a guarded UPDATE that never lets it
    go below zero (and a CHECK as the database's last word)."""

    __tablename__ = "points_accounts"
    tenant_id_index = False
    __table_args__ = (UniqueConstraint("tenant_id", "member_id"),
                      CheckConstraint("balance >= 0", name="balance_nonnegative"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("members.id"), nullable=False)
    balance: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0, nullable=False)


POINTS_KINDS = ("earn_order", "reverse_order", "signin", "bind", "task", "grant", "spend", "spend_return",
                "transfer_out", "transfer_in", "expire", "group_leader")


class PointsEntry(TenantScoped, Base):
    """One movement of a member's points, append-only, once per idempotency key."""

    __tablename__ = "points_entries"
    tenant_id_index = False
    __table_args__ = (UniqueConstraint("tenant_id", "idem_key"),
                      Index("ix_points_entries_member", "tenant_id", "member_id", "id"),
                      Index("ix_points_entries_expiry", "expires_at"),
                      Index("ix_points_entries_order", "tenant_id", "order_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("members.id"), nullable=False)
    idem_key: Mapped[str] = mapped_column(String(80), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    delta: Mapped[int] = mapped_column(Integer, nullable=False)  # signed points
    memo: Mapped[str] = mapped_column(String(100), default="", nullable=False)  # Chinese, for the member
    order_id: Mapped[int | None] = mapped_column(BigId)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # credits only, by the tenant's rule
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class PointsTask(TenantScoped, Base):
    """A task the brand defines (品牌任务): points for doing it, once or once a day; a
    claim code (given out at the event, in the article, …) proves it was done."""

    __tablename__ = "points_tasks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(60), nullable=False)
    points: Mapped[int] = mapped_column(Integer, nullable=False)
    repeat: Mapped[str] = mapped_column(String(8), default="once", nullable=False)  # once | daily
    claim_code: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=OfferStatus.ACTIVE, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class GroupCampaign(TenantScoped, Base):
    """A group-buy campaign (拼团活动): one SKU at a group price, for groups of a size
    that must fill within a time limit; optionally points for the leader when it fills
    (团长奖励) and the leader's order refunded in full (团长免单)."""

    __tablename__ = "group_campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    product_id: Mapped[int] = mapped_column(BigId, nullable=False)
    sku_id: Mapped[int] = mapped_column(BigId, nullable=False)
    group_price_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # one piece, for every member of a group
    group_size: Mapped[int] = mapped_column(Integer, nullable=False)
    time_limit_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)  # no new groups after
    leader_reward_points: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    free_leader: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0", nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=OfferStatus.ACTIVE, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class GroupBuy(TenantScoped, Base):
    """One group (团): forming until its seats are paid (filled) or its time runs out
    (failed, every paid seat refunded by the job). `seats_taken` (seats reserved by an
    order or paid) only moves through guarded UPDATEs; the CHECK is the last word."""

    __tablename__ = "group_buys"
    __table_args__ = (
        CheckConstraint("seats_taken >= 0 AND seats_taken <= size", name="seats_within_size"),
        Index("ix_group_buys_status_expires", "status", "expires_at"),
        Index("ix_group_buys_tenant_campaign", "tenant_id", "campaign_id", "id"),
        # The free-leader job's backlog: `= 1`, only the groups still owing it.
        Index("ix_group_buys_leader_refund", "leader_refund_due", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(BigId, ForeignKey("group_campaigns.id"), nullable=False)
    leader_id: Mapped[int] = mapped_column(BigId, ForeignKey("members.id"), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    seats_paid: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=GroupStatus.FORMING, nullable=False)  # forming | filled | failed
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    filled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # 团长免单: True from filling (campaign free_leader) until the leader's order is
    # refunded by the job (flows/group_buy.refund_free_leaders), then NULL; cleared by a
    # guarded UPDATE in the refund's unit of work, so the refund happens once.
    leader_refund_due: Mapped[bool | None] = mapped_column(Boolean)
    leader_refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GroupSeat(TenantScoped, Base):
    """A member's seat in a group, held by its order: reserved (unpaid), paid, released
    (the order was cancelled) or refunded (the group failed)."""

    __tablename__ = "group_seats"
    tenant_id_index = False
    __table_args__ = (
        UniqueConstraint("tenant_id", "group_id", "member_id"),  # one seat per member per group
        UniqueConstraint("tenant_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(BigId, ForeignKey("group_buys.id"), nullable=False)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("members.id"), nullable=False)
    order_id: Mapped[int] = mapped_column(BigId, nullable=False)
    leader: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=SeatStatus.RESERVED, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


MATERIAL_KINDS = ("image", "video", "copy")
MATERIAL_EVENTS = ("download", "share", "binding")


class Material(TenantScoped, Base):
    """A piece of the material library (素材库): pictures, a video (by URL) or copy the
    brand publishes for promoters, by category and product. Copy may hold {link},
    {invite_code} and {nickname}, filled in for each promoter."""

    __tablename__ = "marketing_materials"
    __table_args__ = (Index("ix_marketing_materials_tenant_status", "tenant_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # image | video | copy
    title: Mapped[str] = mapped_column(String(60), nullable=False)
    body: Mapped[str] = mapped_column(String(2000), default="", nullable=False)  # the copy
    media_urls: Mapped[Any] = mapped_column(JSON, nullable=True)  # pictures, or the one video
    category: Mapped[str] = mapped_column(String(40), default="", nullable=False)
    product_id: Mapped[int | None] = mapped_column(BigId)
    status: Mapped[str] = mapped_column(String(16), default=MaterialStatus.ACTIVE, nullable=False)  # active | hidden
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class MaterialEvent(TenantScoped, Base):
    """A promoter downloaded or shared a material, or a member was bound through its link."""

    __tablename__ = "marketing_material_events"
    tenant_id_index = False
    __table_args__ = (Index("ix_marketing_material_events_material", "tenant_id", "material_id", "kind"),
                      UniqueConstraint("tenant_id", "dedupe_key"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    material_id: Mapped[int] = mapped_column(BigId, ForeignKey("marketing_materials.id"), nullable=False)
    member_id: Mapped[int] = mapped_column(BigId, nullable=False)  # the promoter, or the member bound
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # download | share | binding
    dedupe_key: Mapped[str | None] = mapped_column(String(64))  # a binding counts once per member
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
