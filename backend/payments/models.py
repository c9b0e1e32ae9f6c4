"""What the payment path refused or could not match, kept for the operator.

A notification WeChat Pay signed but that does not fit its order (another amount,
merchant or app; an order we do not know; money for an order already cancelled; a
refund that ended abnormally) changes no order: it lands here once per notification
and kind, however often it is delivered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow
from backend.orm import Fen

ISSUE_KINDS = ("amount_mismatch", "mchid_mismatch", "appid_mismatch", "unknown_order", "paid_after_cancel",
               "paid_twice", "unknown_refund", "refund_amount_mismatch", "refund_abnormal", "refund_closed",
               "refund_rejected")


class PaymentIssue(TenantScoped, Base):
    __tablename__ = "payment_issues"
    __table_args__ = (
        UniqueConstraint("tenant_id", "dedupe_key", "kind"),
        Index("ix_payment_issues_tenant_open", "tenant_id", "resolved_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    # The notification id (or refund number) the issue came from: one issue per delivery source.
    dedupe_key: Mapped[str] = mapped_column(String(64), nullable=False)
    order_id: Mapped[int | None] = mapped_column(BigId)
    refund_id: Mapped[int | None] = mapped_column(BigId)
    out_trade_no: Mapped[str | None] = mapped_column(String(64))
    expected_fen: Mapped[int | None] = mapped_column(Fen)  # what the order says
    reported_fen: Mapped[int | None] = mapped_column(Fen)  # what WeChat Pay reported
    details: Mapped[Any] = mapped_column(JSON)
    deliveries: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    resolution: Mapped[str | None] = mapped_column(String(200))
