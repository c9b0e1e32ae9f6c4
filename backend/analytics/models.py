"""Daily facts: one number per tenant, China-local day, metric and dimension.

Kept by the job backend/analytics/jobs.py from the lower domains' service figures, so
the dashboard reads a few hundred rows per period whatever the number of members and
orders.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow


class DailyFact(TenantScoped, Base):
    __tablename__ = "analytics_daily_facts"
    __table_args__ = (UniqueConstraint("tenant_id", "day", "metric", "dim"),
                      Index("ix_analytics_daily_facts_metric", "tenant_id", "metric", "day"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date, nullable=False)  # China-local day
    metric: Mapped[str] = mapped_column(String(32), nullable=False)
    dim: Mapped[str] = mapped_column(String(40), default="", nullable=False)  # source, kind, product id …
    label: Mapped[str] = mapped_column(String(100), default="", nullable=False)  # a name to show for dim
    value: Mapped[int] = mapped_column(BigInteger, nullable=False)  # a count or fen
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
