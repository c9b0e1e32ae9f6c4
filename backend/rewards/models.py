"""Reward plan versions, the inputs each order line was computed from, the payouts, and
the history of agent level / promoter tier changes.

Amounts are integer fen (`*_fen`); rates are exact decimals. Plans are never edited:
every change is a new version, and every payout names the version that produced it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow
from backend.orm import Fen
from backend.rewards.types import PlanStatus

# BIGINT amounts on MariaDB; INTEGER (64-bit anyway) on SQLite.

PLAN_STATUSES = tuple(PlanStatus)


class RewardPlan(TenantScoped, Base):
    """One version of a tenant's plan; at most one is active."""

    __tablename__ = "reward_plans"
    __table_args__ = (UniqueConstraint("tenant_id", "version"),
                      Index("ix_reward_plans_tenant_status", "tenant_id", "status"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    document: Mapped[Any] = mapped_column(JSON, nullable=False)  # canonical plan JSON (docs/plans.md)
    status: Mapped[str] = mapped_column(String(16), default=PlanStatus.DRAFT, nullable=False)
    created_by: Mapped[str] = mapped_column(String(80), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RewardLine(TenantScoped, Base):
    """What one order line's rewards were computed from: the line, the buyer and the
    upline as they stood at payment, and the plan version. Its row is the idempotency
    marker (one per order line) and the input of replays."""

    __tablename__ = "reward_lines"
    tenant_id_index = False  # the unique key starts with tenant_id
    __table_args__ = (UniqueConstraint("tenant_id", "order_line_id"),
                      Index("ix_reward_lines_tenant_paid_at", "tenant_id", "paid_at", "id"),
                      Index("ix_reward_lines_tenant_order", "tenant_id", "order_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(BigId, nullable=False)
    order_line_id: Mapped[int] = mapped_column(BigId, nullable=False)
    product_id: Mapped[str] = mapped_column(String(40), nullable=False)
    sku_id: Mapped[str | None] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    paid_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # paid for the line after discounts
    cost_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # cost price × quantity
    pool_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # the cap: what the lines add up to
    buyer: Mapped[Any] = mapped_column(JSON, nullable=False)  # {"member_id", "is_promoter", "tier", "agent_level"}
    chain: Mapped[Any] = mapped_column(JSON, nullable=False)  # upline nearest first, same shape
    plan_version: Mapped[int] = mapped_column(Integer, nullable=False)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Payout(TenantScoped, Base):
    """One payout line. Unique per source (order line, referral, period), beneficiary
    and kind, so recording the same thing twice is a no-op. beneficiary_key is the
    beneficiary id, or 0 for the merchant line (NULLs never collide in a unique key)."""

    __tablename__ = "reward_payouts"
    tenant_id_index = False  # the unique key starts with tenant_id
    __table_args__ = (UniqueConstraint("tenant_id", "source_key", "beneficiary_key", "kind"),
                      Index("ix_reward_payouts_tenant_beneficiary", "tenant_id", "beneficiary_id", "id"),
                      Index("ix_reward_payouts_tenant_order", "tenant_id", "order_id"),
                      Index("ix_reward_payouts_tenant_created", "tenant_id", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_type: Mapped[str] = mapped_column(String(16), nullable=False)  # order_line | referral | team
    source_key: Mapped[str] = mapped_column(String(80), nullable=False)  # "line:123", "referral:9:l2", "team:2026-10"
    reward_line_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reward_lines.id"))
    order_id: Mapped[int | None] = mapped_column(BigId)
    order_line_id: Mapped[int | None] = mapped_column(BigId)
    beneficiary_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("members.id"))
    beneficiary_key: Mapped[int] = mapped_column(BigId, nullable=False)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    base: Mapped[str] = mapped_column(String(16), nullable=False)
    base_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    # The rate applied, not money: an exact Decimal with the 8 decimals plans allow.
    rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 8))
    nominal_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # what the rule gives
    amount_fen: Mapped[int] = mapped_column(Fen, nullable=False)  # what is paid (after cap, freezing)
    withheld: Mapped[str | None] = mapped_column(String(8))  # cap | frozen
    level: Mapped[int | None] = mapped_column(Integer)  # distribution level 1–3
    agent_level: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[int | None] = mapped_column(Integer)  # 0 buyer, 1 parent, …
    plan_version: Mapped[int] = mapped_column(Integer, nullable=False)
    explanation: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class LevelChange(TenantScoped, Base):
    """Every change of a member's agent level or promoter tier, and who made it.

    A member whose latest agent level change was made by hand (or bought) is locked:
    automatic evaluation never lowers it."""

    __tablename__ = "reward_level_changes"
    __table_args__ = (Index("ix_reward_level_changes_member", "tenant_id", "member_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("members.id"), nullable=False)
    field: Mapped[str] = mapped_column(String(16), nullable=False)  # agent_level | promoter_tier
    old_value: Mapped[str | None] = mapped_column(String(32))
    new_value: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # auto | manual | bought (a level package) | refund (its order refunded)
    actor: Mapped[str] = mapped_column(String(80), nullable=False)
    plan_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
