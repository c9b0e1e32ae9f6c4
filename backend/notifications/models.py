"""Notifications: the outbox of messages to members, their preferences, the tenant's
notification settings, chat identities linked to members/staff, and the daily run's high-water mark.

The outbox is a table, not a queue in Redis: a row is written in the same
transaction as the change it reports, so an alert exists exactly when its change
committed, survives a restart, and (unique per tenant and dedupe key) is never
enqueued twice.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow
from backend.notifications.types import OutboxStatus

# Outbox statuses. `pending` rows are delivered by the scheduler (routing, WeCom,
# subscribe messages); `bot_pending` rows by the bot process that owns the personal
# WeChat account. `sending` rows are claimed (claimed_until is the lease).
OUTBOX_STATUSES = tuple(OutboxStatus)
ALERT_KINDS = ("team_member", "commission", "settlement", "withdrawal", "agent", "promoter", "upgrade",
               "commission_reversed")
KINDS = ("daily_summary", *ALERT_KINDS)
CHANNELS = ("bot", "wecom", "subscribe")
CHANNEL_CHOICES = ("auto", *CHANNELS, "none")
TRANSPORTS = ("wechaty", "wecom")


class OutboxMessage(TenantScoped, Base):
    """One message to one member: a change alert or a daily summary."""

    __tablename__ = "notification_outbox"
    tenant_id_index = False  # the unique key starts with tenant_id
    __table_args__ = (
        UniqueConstraint("tenant_id", "dedupe_key"),
        Index("ix_notification_outbox_due", "status", "priority", "next_attempt_at", "id"),
        Index("ix_notification_outbox_tenant_due", "tenant_id", "status", "next_attempt_at"),
        Index("ix_notification_outbox_member", "tenant_id", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, nullable=False)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    # "alert:commission:line:123:45", "daily:2026-11-03:45": one row per fact, ever.
    dedupe_key: Mapped[str] = mapped_column(String(96), nullable=False)
    payload: Mapped[Any] = mapped_column(JSON, nullable=False)  # figures, never text
    priority: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0)  # 0 alerts, 1 daily
    status: Mapped[str] = mapped_column(String(12), nullable=False, default=OutboxStatus.PENDING)
    channel: Mapped[str | None] = mapped_column(String(12))  # set when routed
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class NotificationPreference(TenantScoped, Base):
    """A member's choices; no row means the defaults (everything on, channel auto).

    Subscribe messages need the member's consent per message (wx.requestSubscribeMessage):
    each accepted request is one credit, each message sent spends one."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("tenant_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(BigId, nullable=False)
    daily_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    alerts_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    channel: Mapped[str] = mapped_column(String(12), nullable=False, default="auto")
    daily_credits: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    alert_credits: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class NotificationSettings(TenantScoped, Base):
    """The tenant's notification settings (one row; defaults when absent)."""

    __tablename__ = "notification_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    daily_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Mini-program subscribe templates and which of their keys carry what
    # ({"thing1": "title", "thing2": "brief", "time3": "date"}; see docs/bot.md).
    daily_template_id: Mapped[str | None] = mapped_column(String(64))
    daily_template_fields: Mapped[Any | None] = mapped_column(JSON)
    alert_template_id: Mapped[str | None] = mapped_column(String(64))
    alert_template_fields: Mapped[Any | None] = mapped_column(JSON)
    # Post the brand's day (totals and top promoters) to its WeCom group robot.
    robot_daily_report: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    welcome_text: Mapped[str | None] = mapped_column(String(500))
    room_welcome_text: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ChatContact(TenantScoped, Base):
    """A chat identity the bot talks to, linked to a member and/or a staff account.

    transport "wechaty": contact_id is the personal-WeChat contact id the puppet gives;
    transport "wecom": the WeCom userid of a staff member (app messages)."""

    __tablename__ = "chat_contacts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "transport", "contact_id"),
        Index("ix_chat_contacts_member", "tenant_id", "member_id"),
        Index("ix_chat_contacts_staff", "tenant_id", "staff_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transport: Mapped[str] = mapped_column(String(12), nullable=False)
    contact_id: Mapped[str] = mapped_column(String(128), nullable=False)
    display_name: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    member_id: Mapped[int | None] = mapped_column(BigId)
    staff_id: Mapped[int | None] = mapped_column(BigId)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class DailyRun(TenantScoped, Base):
    """The daily summary build of one tenant and day; `last_member_id` is the
    high-water mark committed with each chunk, so a crashed run resumes where it was."""

    __tablename__ = "notification_daily_runs"
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    last_member_id: Mapped[int] = mapped_column(BigId, nullable=False, default=0)
    built: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # summaries computed
    enqueued: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    robot_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the brand's day, to its robot
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class LinkCode(TenantScoped, Base):
    """A one-time code linking the chat identity that sends it to a member or staff
    account (`contacts.issue_link_code`). In the database, not in one process's memory:
    the API issues it and the bot process consumes it. Deleted when used."""

    __tablename__ = "notification_link_codes"
    tenant_id_index = False  # the unique key starts with tenant_id
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(6), nullable=False)
    member_id: Mapped[int | None] = mapped_column(BigId)
    staff_id: Mapped[int | None] = mapped_column(BigId)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
