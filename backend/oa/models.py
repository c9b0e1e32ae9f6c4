"""The official account's inbox: follow and scan events verified by the endpoint and
waiting for the binding worker (OA_INBOX=worker, backend/oa/inbox.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime


class OaInboxEvent(TenantScoped, Base):
    """One subscribe/SCAN push as WeChat sent it. WeChat's identity of an event is
    FromUserName + CreateTime + Event: a retry of the same push collides on the unique
    key and changes nothing. `pending` is true until the worker bound it (NULL after,
    so the pending index holds only the backlog's rows)."""

    __tablename__ = "oa_inbox"
    tenant_id_index = False
    __table_args__ = (
        UniqueConstraint("tenant_id", "openid", "create_time", "event", name="uq_oa_inbox_event"),
        Index("ix_oa_inbox_pending", "pending", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64), nullable=False)  # FromUserName
    create_time: Mapped[int] = mapped_column(BigInteger, nullable=False)  # CreateTime
    event: Mapped[str] = mapped_column(String(16), nullable=False)  # subscribe | scan
    scene: Mapped[str | None] = mapped_column(String(64))  # the promoter's scene, if any
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    pending: Mapped[bool | None] = mapped_column(Boolean)
