"""Becoming a promoter (推广员申请) from the mini-program: apply, and see the outcome."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.members import promoters
from backend.members import service as members
from miniprogram_api.http import Body, route
from miniprogram_api.schemas.more import MyPromoterOut, PromoterApplicationOut

bp = Blueprint("mp_promoter", __name__, url_prefix="/api/v1")


class ApplicationIn(Body):
    real_name: str = Field(min_length=1, max_length=40, description="真实姓名")
    phone: str = Field(pattern=r"^1\d{10}$", description="手机号（11 位）")
    reason: str = Field("", max_length=500, description="申请说明")


@route(bp, "/mp/promoter/application", method="POST", auth="member", body=ApplicationIn, status=201,
       response=PromoterApplicationOut,
       errors=("promoter_application_pending", "promoter_applications_closed"))
def apply(principal: Principal, body: ApplicationIn) -> dict[str, Any]:
    """Apply to become a promoter (when the brand reviews applications)."""
    application = promoters.apply_for_promoter(
        tenant_id=principal.tenant_id, member_id=principal.subject_id, real_name=body.real_name,
        phone=body.phone, reason=body.reason, now=utcnow())
    return promoters.application_view(application)


@route(bp, "/mp/promoter/application", auth="member", response=MyPromoterOut)
def my_application(principal: Principal) -> dict[str, Any]:
    """My promoter status and my latest application (None when I never applied)."""
    member = members.get_member(tenant_id=principal.tenant_id, member_id=principal.subject_id)
    latest = promoters.latest_application(tenant_id=principal.tenant_id, member_id=member.id)
    return MyPromoterOut(promoter_status=member.promoter_status,
                         application=promoters.application_view(latest) if latest else None)
