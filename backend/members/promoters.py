"""How a member becomes a promoter (推广员, SPEC §2), by the tenant's promoter_mode:

- auto: every member is one from the start (members.service creates them active);
- apply: the member fills a form (`apply_for_promoter`), staff approve or reject it with
  a reason (`decide_application`), the member is told (flows/alerts);
- condition: the member becomes one by itself once the tenant's condition holds
  (`qualifies` is the pure rule; flows/promoters.py checks it after each paid order
  and calls `grant_promoter`).

Each change announces `promoter_status_changed` so the member is alerted; each staff
decision is audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from backend.audit.service import record_audit
from backend.events import announce
from backend.extensions import db
from backend.members.errors import (
    AlreadyPromoter,
    PromoterApplicationDecided,
    PromoterApplicationNotFound,
    PromoterApplicationPending,
    PromoterApplicationsClosed,
    RejectReasonRequired,
)
from backend.members.models import Member, PromoterApplication
from backend.members.service import get_member
from backend.members.types import PromoterApplicationStatus, PromoterStatus
from backend.tenants.service import get_tenant
from backend.tenants.types import PromoterMode

CONDITION_KINDS = ("first_purchase", "spent", "bought")


@dataclass(frozen=True)
class PurchaseFacts:
    """What a buyer has bought so far (paid, not refunded), for condition mode."""

    paid_orders: int
    paid_fen: int
    product_ids: frozenset[int]


def qualifies(condition: Mapping[str, Any] | None, facts: PurchaseFacts) -> bool:
    """The condition rule: first_purchase (any paid order), spent ≥ min_fen in all, or
    bought one of product_ids. No condition configured: nobody qualifies automatically."""
    if not condition:
        return False
    kind = condition.get("kind")
    if kind == "first_purchase":
        return facts.paid_orders > 0
    if kind == "spent":
        return facts.paid_fen >= int(condition.get("min_fen", 0)) and facts.paid_orders > 0
    if kind == "bought":
        return bool(facts.product_ids & {int(p) for p in condition.get("product_ids", ())})
    return False


def _lock_member(tenant_id: int, member_id: int) -> Member:
    get_member(tenant_id=tenant_id, member_id=member_id)  # MemberNotFound for foreign ids
    return db.session.scalars(select(Member).where(Member.id == member_id).with_for_update()
                              .execution_options(populate_existing=True)).one()


def apply_for_promoter(*, tenant_id: int, member_id: int, real_name: str, phone: str, reason: str,
                       now: datetime) -> PromoterApplication:
    """File the member's application (apply mode); the member is `pending` until decided."""
    if get_tenant(tenant_id=tenant_id).promoter_mode != PromoterMode.APPLY:
        raise PromoterApplicationsClosed()
    member = _lock_member(tenant_id, member_id)
    if member.promoter_status == PromoterStatus.ACTIVE:
        raise AlreadyPromoter()
    if member.promoter_status == PromoterStatus.PENDING:
        raise PromoterApplicationPending()
    application = PromoterApplication(tenant_id=tenant_id, member_id=member_id, real_name=real_name,
                                      phone=phone, reason=reason, status=PromoterApplicationStatus.PENDING, created_at=now)
    db.session.add(application)
    member.promoter_status = PromoterStatus.PENDING
    db.session.flush()
    return application


def latest_application(*, tenant_id: int, member_id: int) -> PromoterApplication | None:
    """The member's newest application, if any."""
    return db.session.scalar(select(PromoterApplication).where(
        PromoterApplication.tenant_id == tenant_id, PromoterApplication.member_id == member_id)
        .order_by(PromoterApplication.id.desc()).limit(1))


def count_pending_applications(*, tenant_id: int) -> int:
    """Promoter applications waiting for staff (promoter_mode `apply`)."""
    return int(db.session.scalar(select(func.count()).select_from(PromoterApplication).where(
        PromoterApplication.tenant_id == tenant_id,
        PromoterApplication.status == PromoterApplicationStatus.PENDING)) or 0)


def list_applications(*, tenant_id: int, status: str | None = None, after_id: int = 0,
                      limit: int = 50) -> list[PromoterApplication]:
    """Applications of a tenant, oldest first (the review queue), keyset-paged."""
    stmt = select(PromoterApplication).where(PromoterApplication.tenant_id == tenant_id,
                                             PromoterApplication.id > after_id)
    if status:
        stmt = stmt.where(PromoterApplication.status == status)
    return list(db.session.scalars(stmt.order_by(PromoterApplication.id).limit(limit)))


def decide_application(*, tenant_id: int, application_id: int, approve: bool, actor: str,
                       now: datetime, reason: str | None = None) -> PromoterApplication:
    """Approve (the member becomes an active promoter) or reject with a reason; once."""
    application = db.session.scalar(select(PromoterApplication).where(
        PromoterApplication.tenant_id == tenant_id, PromoterApplication.id == application_id)
        .with_for_update())
    if application is None:
        raise PromoterApplicationNotFound()
    if application.status != PromoterApplicationStatus.PENDING:
        raise PromoterApplicationDecided()
    if not approve and not (reason or "").strip():
        raise RejectReasonRequired()
    member = _lock_member(tenant_id, application.member_id)
    before = {"status": application.status, "promoter_status": member.promoter_status}
    application.status = PromoterApplicationStatus.APPROVED if approve else PromoterApplicationStatus.REJECTED
    application.decided_by, application.decided_at = actor, now
    application.reject_reason = None if approve else (reason or "").strip()
    if approve:
        member.promoter_status = PromoterStatus.ACTIVE
    elif member.promoter_status == PromoterStatus.PENDING:
        member.promoter_status = PromoterStatus.NONE
    record_audit(tenant_id=tenant_id, actor=actor, action=f"promoter_application.{application.status}",
                 target_type="promoter_application", target_id=application.id, before=before,
                 after={"status": application.status, "promoter_status": member.promoter_status,
                        "reason": application.reject_reason})
    db.session.flush()
    announce("promoter_status_changed", tenant_id=tenant_id, member_id=member.id,
             outcome=application.status, reason=application.reject_reason, now=now)
    return application


def grant_promoter(*, tenant_id: int, member_ids: Sequence[int], now: datetime) -> list[int]:
    """Make these members active promoters because the tenant's condition now holds
    (condition mode); members already promoters, frozen or revoked are left alone.
    Returns the ids that changed."""
    changed = []
    for member_id in sorted(set(member_ids)):
        member = _lock_member(tenant_id, member_id)
        if member.promoter_status not in (PromoterStatus.NONE, PromoterStatus.PENDING):
            continue
        member.promoter_status = PromoterStatus.ACTIVE
        changed.append(member_id)
        record_audit(tenant_id=tenant_id, actor="system", action="promoter.condition_met",
                     target_type="member", target_id=member_id, before={"promoter_status": PromoterStatus.NONE},
                     after={"promoter_status": PromoterStatus.ACTIVE})
        announce("promoter_status_changed", tenant_id=tenant_id, member_id=member_id,
                 outcome="condition_met", reason=None, now=now)
    db.session.flush()
    return changed


def non_promoters(*, tenant_id: int, member_ids: Sequence[int]) -> list[int]:
    """Which of these members are not promoters yet (status none or pending)."""
    if not member_ids:
        return []
    return list(db.session.scalars(select(Member.id).where(
        Member.tenant_id == tenant_id, Member.id.in_(sorted(set(member_ids))),
        Member.promoter_status.in_((PromoterStatus.NONE, PromoterStatus.PENDING)))))


def application_view(a: PromoterApplication) -> dict[str, Any]:
    return {"id": a.id, "member_id": a.member_id, "real_name": a.real_name, "phone": a.phone,
            "reason": a.reason, "status": a.status, "reject_reason": a.reject_reason,
            "decided_by": a.decided_by, "created_at": a.created_at.isoformat(),
            "decided_at": a.decided_at.isoformat() if a.decided_at else None}
