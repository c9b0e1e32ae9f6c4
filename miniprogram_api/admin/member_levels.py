"""Back-office: the brand's member (VIP) levels and their discounts (会员等级)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint
from pydantic import Field

from backend.auth.tokens import Principal
from backend.members import levels
from miniprogram_api.http import Body, Items, route
from miniprogram_api.schemas.more import MemberLevelOut

bp = Blueprint("admin_member_levels", __name__, url_prefix="/api/v1/admin")



class LevelIn(Body):
    level: int = Field(ge=1, le=100, description="等级序号（会员的 member_level）")
    name: str = Field(min_length=1, max_length=20, description="等级名称，如「金卡会员」")
    discount_rate: Decimal = Field(ge=Decimal("0.10"), le=Decimal("1"), max_digits=5, decimal_places=4,
                                   description="折扣：0.95 为 95 折，1 为不打折")


class LevelsIn(Body):
    levels: list[LevelIn] = Field(max_length=20)


@route(bp, "/member-levels", auth="staff", response=Items[MemberLevelOut])
def list_levels(principal: Principal) -> dict[str, Any]:
    """The member levels and their discounts, lowest first."""
    return Items[MemberLevelOut](items=[levels.level_view(m) for m in levels.list_member_levels(tenant_id=principal.tenant_id)])


@route(bp, "/member-levels", method="PUT", auth="staff", body=LevelsIn, response=Items[MemberLevelOut])
def set_levels(principal: Principal, body: LevelsIn) -> dict[str, Any]:
    """Replace the member levels (audited); a member's level is set on the member."""
    rows = levels.set_member_levels(tenant_id=principal.tenant_id, actor=principal.actor, levels=[
        levels.LevelSpec(level=x.level, name=x.name, discount_rate=x.discount_rate) for x in body.levels])
    return Items[MemberLevelOut](items=[levels.level_view(m) for m in rows])
