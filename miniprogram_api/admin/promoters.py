"""Back-office: the promoter application queue (推广员审核): approve, or reject with a reason."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.members import promoters
from backend.members.types import PromoterApplicationStatus
from miniprogram_api.http import Body, Page, Query, page_of, route
from miniprogram_api.schemas.more import PromoterApplicationOut

bp = Blueprint("admin_promoters", __name__, url_prefix="/api/v1/admin")



class ApplicationPage(Query):
    status: PromoterApplicationStatus | None = PromoterApplicationStatus.PENDING
    after_id: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=200)


class RejectIn(Body):
    reason: str = Field(min_length=1, max_length=200, description="驳回原因（会告知申请人）")


@route(bp, "/promoter-applications", auth="staff", query=ApplicationPage,
       response=Page[PromoterApplicationOut])
def list_applications(principal: Principal, query: ApplicationPage) -> dict[str, Any]:
    """Promoter applications, oldest first (pending by default)."""
    items = promoters.list_applications(tenant_id=principal.tenant_id, status=query.status,
                                        after_id=query.after_id, limit=query.limit)
    return page_of(items, promoters.application_view, query.limit)


@route(bp, "/promoter-applications/<int:application_id>/approve", method="POST", auth="staff",
       response=PromoterApplicationOut, errors=("promoter_application_decided", "promoter_application_not_found"))
def approve(principal: Principal, application_id: int) -> dict[str, Any]:
    """Approve: the member becomes an active promoter and is told."""
    return promoters.application_view(promoters.decide_application(
        tenant_id=principal.tenant_id, application_id=application_id, approve=True,
        actor=principal.actor, now=utcnow()))


@route(bp, "/promoter-applications/<int:application_id>/reject", method="POST", auth="staff",
       body=RejectIn, response=PromoterApplicationOut, errors=("promoter_application_not_found",))
def reject(principal: Principal, application_id: int, body: RejectIn) -> dict[str, Any]:
    """Reject with a reason the member is told."""
    return promoters.application_view(promoters.decide_application(
        tenant_id=principal.tenant_id, application_id=application_id, approve=False,
        reason=body.reason, actor=principal.actor, now=utcnow()))
