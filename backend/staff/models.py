"""Back-office accounts of a tenant: the boss, operators and sales staff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow
from backend.staff.types import StaffRole, StaffStatus

# The roles a staff account may hold; what each may do is backend/auth/policy.py.
ROLES = tuple(StaffRole)
STATUSES = tuple(StaffStatus)


class StaffAccount(TenantScoped, Base):
    __tablename__ = "staff_accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "username"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(60), nullable=False)
    display_name: Mapped[str] = mapped_column(String(60), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, default="sales")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=StaffStatus.ACTIVE)
    # Bumped by logout, a role change or a deactivation: older tokens stop working.
    token_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0,
                                               server_default="0")
    # The staff member's own member record in the mini-program, if linked: customers
    # who scan the staff code are bound under it like any promoter's share.
    member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
