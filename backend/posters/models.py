"""Tenant poster templates. Rendered posters are cached as files (backend/posters/cache.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow


class PosterTemplate(TenantScoped, Base):
    """A tenant's own layout for one poster kind; the active one replaces the shipped default."""

    __tablename__ = "poster_templates"
    __table_args__ = (
        Index("ix_poster_templates_tenant_kind", "tenant_id", "kind", "id"),
        # At most one active template per kind, enforced by the database: active_kind
        # is the kind while active and NULL otherwise (NULLs never collide).
        UniqueConstraint("tenant_id", "active_kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # invite|product|shop|live
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    # The layout JSON exactly as validated (backend/posters/layout.py); bumps `version`.
    layout_json: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    active_kind: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)

    @property
    def active(self) -> bool:
        return self.active_kind is not None
