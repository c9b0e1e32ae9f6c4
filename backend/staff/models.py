"""Back-office accounts of a tenant: the boss, operators and sales staff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow

ROLES = ("boss", "operator", "staff")


class StaffAccount(TenantScoped, Base):
    __tablename__ = "staff_accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "username"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(60), nullable=False)
    display_name: Mapped[str] = mapped_column(String(60), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, default="staff")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    # The staff member's own member record in the mini-program, if linked: customers
    # who scan the staff code are bound under it like any promoter's share.
    member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
