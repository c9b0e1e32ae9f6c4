"""Customers of a tenant's sales staff, kept apart from the promoter tree.

A customer may be a mini-program member, a WeCom external contact, a personal-WeChat
friend of a staff bot, or someone a staff member typed in by hand; the same person
seen through two channels is one row (linked by member id or unionid).

Ownership: `Customer.owner_staff_id` is the current owner (for fast lists);
`Ownership` keeps every period, so hand-overs keep history and sales are credited
to whoever owned the customer at the time.

The timeline (`CustomerEvent`) holds remarks, follow-ups and every change; its `day`
column is the China-local date, so the boss's per-day workload is one GROUP BY.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow
from backend.scrm.types import ReminderStatus

CUSTOMER_SOURCES = ("mp_code", "wecom", "manual", "phone", "bot")
OWNERSHIP_REASONS = ("mp_code", "wecom", "manual", "bot", "handover", "assign")
CODE_KINDS = ("mp", "wecom")
RULE_KINDS = ("channel", "keyword", "purchase")
EVENT_KINDS = (
    "added",        # a staff member gained a new customer (code, WeCom, by hand, bot)
    "arrived",      # a known customer came back through a code
    "handover",     # ownership moved to this staff member
    "tag_add", "tag_remove",
    "remark",       # a note
    "follow_up",    # a contact with the customer (counts as followed up)
    "phone",        # phone number captured or changed
    "reminder",     # a follow-up reminder set
    "lost",         # the customer deleted the staff member in WeCom
)
REMINDER_STATUSES = tuple(ReminderStatus)


class StaffProfile(TenantScoped, Base):
    """SCRM settings of a staff account: their WeCom user id (contact ways, app messages)."""

    __tablename__ = "scrm_staff_profiles"
    __table_args__ = (UniqueConstraint("staff_id"), UniqueConstraint("tenant_id", "wecom_user_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff_accounts.id"), nullable=False)
    wecom_user_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class StaffCode(TenantScoped, Base):
    """A staff member's code: a mini-program code (scene `s=<staff id>`) or a WeCom contact
    way whose `state` comes back when a customer adds them. `channel` names where the code
    is used (门店, 展会 …) for channel tag rules."""

    __tablename__ = "scrm_staff_codes"
    __table_args__ = (UniqueConstraint("tenant_id", "state"),
                      Index("ix_scrm_staff_codes_staff", "tenant_id", "staff_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff_accounts.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    channel: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    state: Mapped[str] = mapped_column(String(32), nullable=False)  # scene (mp) / state (WeCom)
    config_id: Mapped[str | None] = mapped_column(String(64))  # WeCom contact way
    qr_url: Mapped[str] = mapped_column(String(512), default="", nullable=False)
    welcome_text: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Customer(TenantScoped, Base):
    __tablename__ = "scrm_customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "member_id"),
        UniqueConstraint("tenant_id", "external_userid"),
        UniqueConstraint("tenant_id", "im_contact_id"),
        Index("ix_scrm_customers_owner", "tenant_id", "owner_staff_id", "id"),
        Index("ix_scrm_customers_phone", "tenant_id", "phone"),
        Index("ix_scrm_customers_unionid", "tenant_id", "unionid"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("members.id"))
    external_userid: Mapped[str | None] = mapped_column(String(64))  # WeCom external contact
    im_contact_id: Mapped[str | None] = mapped_column(String(64))  # personal WeChat (bot)
    unionid: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    phone: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    channel: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    owner_staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff_accounts.id"))
    owned_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_followed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Ownership(TenantScoped, Base):
    """One period in which a staff member owned a customer; ended_at None = current."""

    __tablename__ = "scrm_ownerships"
    __table_args__ = (
        Index("ix_scrm_ownerships_customer", "tenant_id", "customer_id", "started_at"),
        Index("ix_scrm_ownerships_staff", "tenant_id", "staff_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("scrm_customers.id"), nullable=False)
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff_accounts.id"), nullable=False)
    reason: Mapped[str] = mapped_column(String(16), nullable=False)
    code_id: Mapped[int | None] = mapped_column(BigId)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(16))


class TagGroup(TenantScoped, Base):
    """A tenant's group of tags; `exclusive` groups hold at most one tag per customer."""

    __tablename__ = "scrm_tag_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(30), nullable=False)
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Tag(TenantScoped, Base):
    __tablename__ = "scrm_tags"
    __table_args__ = (UniqueConstraint("tenant_id", "group_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(BigId, ForeignKey("scrm_tag_groups.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(30), nullable=False)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    wecom_tag_id: Mapped[str | None] = mapped_column(String(64))  # the same tag in WeCom
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class CustomerTag(TenantScoped, Base):
    __tablename__ = "scrm_customer_tags"
    __table_args__ = (UniqueConstraint("customer_id", "tag_id"),
                      Index("ix_scrm_customer_tags_tag", "tenant_id", "tag_id", "customer_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("scrm_customers.id"), nullable=False)
    tag_id: Mapped[int] = mapped_column(BigId, ForeignKey("scrm_tags.id"), nullable=False)
    source: Mapped[str] = mapped_column(String(8), nullable=False)  # manual | rule
    rule_id: Mapped[int | None] = mapped_column(BigId)
    staff_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class TagRule(TenantScoped, Base):
    """Tag automatically: by arrival channel, by keywords in a customer's message, or by
    purchases. `params` is the validated JSON of backend.scrm.rules."""

    __tablename__ = "scrm_tag_rules"
    __table_args__ = (Index("ix_scrm_tag_rules_kind", "tenant_id", "kind", "active"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tag_id: Mapped[int] = mapped_column(BigId, ForeignKey("scrm_tags.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    params: Mapped[Any] = mapped_column(JSON, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class CustomerEvent(TenantScoped, Base):
    """The customer's timeline: remarks, follow-ups and changes, newest last."""

    __tablename__ = "scrm_customer_events"
    __table_args__ = (
        Index("ix_scrm_events_customer", "tenant_id", "customer_id", "id"),
        # covers the workload query: day range, kind, grouped by staff, distinct customers
        Index("ix_scrm_events_day", "tenant_id", "day", "kind", "staff_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("scrm_customers.id"), nullable=False)
    staff_id: Mapped[int | None] = mapped_column(BigId)  # who did it; None = the system / rules
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    content: Mapped[str] = mapped_column(String(1000), default="", nullable=False)
    data: Mapped[Any] = mapped_column(JSON, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)  # China-local date of `at`


class Reminder(TenantScoped, Base):
    __tablename__ = "scrm_reminders"
    __table_args__ = (
        Index("ix_scrm_reminders_staff", "tenant_id", "staff_id", "status", "due_at"),
        Index("ix_scrm_reminders_due", "status", "notified_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("scrm_customers.id"), nullable=False)
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff_accounts.id"), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    note: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=ReminderStatus.PENDING, nullable=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
