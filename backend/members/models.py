"""Members, their place in the tenant's parent forest, and binding provenance.

The forest is stored three ways, each for one kind of read, so that no request
walks a subtree (a tenant may hold millions of members):
- `path` (materialized path "/1/5/9/", root first, self last): the upline in one
  row, the whole team as an index range scan on a path prefix;
- `parent_id`, `grandparent_id`, `great_grandparent_id`: team lists per level
  (1/2/3) through their own indexes;
- `team_total`, `team_l1..l3` counters: the team summary is one primary-key read
  plus the member's pending deltas (`TeamDelta`, backend/members/counters.py). A
  binding appends one delta row per upline member instead of updating their rows, so
  concurrent bindings in one big tree never queue on the root's row; a job folds the
  deltas into these columns.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow
from backend.members.types import BindSource, MemberStatus, PromoterApplicationStatus, PromoterStatus

PROMOTER_STATUSES = tuple(PromoterStatus)
MEMBER_STATUSES = tuple(MemberStatus)
BIND_SOURCES = tuple(BindSource)


class Member(TenantScoped, Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "openid"),
        UniqueConstraint("tenant_id", "invite_code"),
        Index("ix_members_tenant_unionid", "tenant_id", "unionid"),
        Index("ix_members_tenant_oa_openid", "tenant_id", "oa_openid"),
        Index("ix_members_tenant_parent", "tenant_id", "parent_id", "id"),
        Index("ix_members_tenant_grandparent", "tenant_id", "grandparent_id", "id"),
        Index("ix_members_tenant_ggparent", "tenant_id", "great_grandparent_id", "id"),
        Index("ix_members_tenant_path", "tenant_id", "path"),
        # "New team members today" for the daily summaries: a range, not a scan.
        Index("ix_members_tenant_bound_at", "tenant_id", "bound_at"),
        # New members per day for the dashboard's daily facts (backend/analytics).
        Index("ix_members_tenant_created", "tenant_id", "created_at"),
        # The expiry job's range, across tenants (only bound members have a value).
        Index("ix_members_bind_expires_at", "bind_expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    openid: Mapped[str | None] = mapped_column(String(64))  # mini-program openid
    unionid: Mapped[str | None] = mapped_column(String(64))
    oa_openid: Mapped[str | None] = mapped_column(String(64))  # official-account openid
    nickname: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    avatar_url: Mapped[str] = mapped_column(String(512), default="", nullable=False)
    phone: Mapped[str | None] = mapped_column(String(20))
    invite_code: Mapped[str] = mapped_column(String(12), nullable=False)
    # Bumped whenever what a poster shows of the member changes (cache invalidation).
    profile_version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)

    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("members.id"))
    grandparent_id: Mapped[int | None] = mapped_column(BigId)
    great_grandparent_id: Mapped[int | None] = mapped_column(BigId)
    path: Mapped[str] = mapped_column(String(600), nullable=False, default="")
    depth: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    team_total: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    team_l1: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    team_l2: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    team_l3: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Set when the first member binds under this one, never cleared: a member without it
    # has no team, which a move (rebind, expiry) reads from the row under its own lock;
    # one with it sums its pending deltas by a locking read (backend/members/counters.py).
    had_team: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false(), nullable=False)

    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bind_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bind-on-first-purchase tenants park the first valid share here until the purchase.
    pending_parent_id: Mapped[int | None] = mapped_column(BigId)
    pending_source: Mapped[str | None] = mapped_column(String(16))
    pending_scene: Mapped[str | None] = mapped_column(String(64))
    last_purchase_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member_level: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.ACTIVE, server_default=MemberStatus.ACTIVE,
                                        nullable=False)
    # Bumped by logout and by a freeze: tokens signed before stop working.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0",
                                               nullable=False)
    promoter_status: Mapped[str] = mapped_column(String(16), default=PromoterStatus.NONE, nullable=False)
    promoter_tier: Mapped[str] = mapped_column(String(32), default="normal", nullable=False)
    agent_level: Mapped[str | None] = mapped_column(String(32))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)

    def ancestor_ids(self) -> list[int]:
        """Upline ids, nearest first, read from the materialized path."""
        return parse_path(self.path)[:-1][::-1]


def parse_path(path: str) -> list[int]:
    """'/1/5/9/' → [1, 5, 9] (root first)."""
    return [int(p) for p in path.strip("/").split("/") if p]


class Binding(TenantScoped, Base):
    """Provenance of every binding: who brought whom, how, when, and when it ended."""

    __tablename__ = "member_bindings"
    __table_args__ = (Index("ix_member_bindings_member", "tenant_id", "member_id"),
                      Index("ix_member_bindings_tenant_bound_at", "tenant_id", "bound_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("members.id"), nullable=False)
    parent_id: Mapped[int] = mapped_column(BigId, ForeignKey("members.id"), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    scene: Mapped[str | None] = mapped_column(String(64))
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(16))


APPLICATION_STATUSES = tuple(PromoterApplicationStatus)


class PromoterApplication(TenantScoped, Base):
    """A member's application to become a promoter (推广员申请, promoter_mode = apply),
    and the staff's decision. One pending application per member at a time."""

    __tablename__ = "promoter_applications"
    __table_args__ = (
        Index("ix_promoter_applications_tenant_status", "tenant_id", "status", "id"),
        Index("ix_promoter_applications_member", "tenant_id", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("members.id"), nullable=False)
    real_name: Mapped[str] = mapped_column(String(40), nullable=False)
    phone: Mapped[str] = mapped_column(String(20), nullable=False)
    reason: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    status: Mapped[str] = mapped_column(String(12), default=PromoterApplicationStatus.PENDING, nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(40))
    reject_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MemberLevel(TenantScoped, Base):
    """A member (VIP) level the brand defines (会员等级): its name and the discount its
    members get on retail prices at checkout (0.95 = 95折). Members hold a level number
    (`Member.member_level`, 0 = none) that staff set by hand, audited."""

    __tablename__ = "member_levels"
    __table_args__ = (UniqueConstraint("tenant_id", "level"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    level: Mapped[int] = mapped_column(Integer, nullable=False)  # 1 … 100
    name: Mapped[str] = mapped_column(String(20), nullable=False)
    discount_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4), nullable=False)  # a rate, never money


class TeamDelta(TenantScoped, Base):
    """A change of one member's team counters not yet folded into its row (deferred
    counters, backend/members/counters.py). Append-only until the fold job adds a batch
    of them to `members.team_*` and deletes them in the same transaction; a read of the
    counters is the row plus the sum of its deltas, in one statement."""

    __tablename__ = "member_team_deltas"
    tenant_id_index = False  # never read by tenant: by member (the index) or in id order
    __table_args__ = (
        # Covering: a member's pending sum is read from the index alone.
        Index("ix_member_team_deltas_member", "member_id", "total", "l1", "l2", "l3"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, nullable=False)
    total: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    l1: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    l2: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    l3: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class BindRequest(TenantScoped, Base):
    """A mini-program binding request waiting for the binding worker (MP_BIND_INBOX=worker,
    backend/members/bind_inbox.py): checked and written by the request in one INSERT,
    bound by the job `members.bind_requests` in batches. `pending` is true until the
    worker applied it (NULL after, so the pending index holds only the backlog's rows);
    `outcome` then says what became of it (bound | pending | rebound | refused, with
    the refusal's error code), for the member's next look at `/mp/me`."""

    __tablename__ = "member_bind_inbox"
    tenant_id_index = False  # read by member (the index below) or in id order
    __table_args__ = (
        Index("ix_member_bind_inbox_pending", "pending", "id"),
        Index("ix_member_bind_inbox_member", "tenant_id", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, nullable=False)
    parent_id: Mapped[int] = mapped_column(BigId, nullable=False)  # resolved from the scene by the request
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    scene: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    pending: Mapped[bool | None] = mapped_column(Boolean)
    outcome: Mapped[str | None] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(40))
