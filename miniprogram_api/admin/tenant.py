"""Back-office: staff log in, members, manual adjustments, audit, policy."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint
from pydantic import Field, model_validator

from backend.audit.service import audit_view, list_audit
from backend.auth import policy
from backend.auth.tokens import Principal, issue_token
from backend.flows import staff_accounts
from backend.members import service as members
from backend.members.types import MemberStatus, PromoterStatus
from backend.staff import service as staff
from backend.tenants import service as tenants
from backend.tenants.types import BindOn, PromoterMode
from miniprogram_api.http import Body, Items, Page, Query, page_of, route
from miniprogram_api.schemas.common import Done
from miniprogram_api.schemas.members import (
    AuditOut,
    MemberDetailOut,
    MemberPrivateOut,
    StaffLoginOut,
    StaffOut,
    TenantOut,
)

bp = Blueprint("admin", __name__, url_prefix="/api/v1/admin")



class StaffLoginIn(Body):
    tenant: str = Field(min_length=2, max_length=40)
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=128)


class MemberPage(Query):
    after_id: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=200)
    q: str | None = Field(None, max_length=64)


class AdjustIn(Body):
    member_level: int | None = Field(None, ge=0, le=100)
    promoter_status: PromoterStatus | None = None
    status: MemberStatus | None = None


class PromoterConditionIn(Body):
    """When a member becomes a promoter by itself (promoter_mode = condition)."""

    kind: Literal["first_purchase", "spent", "bought"]
    min_fen: int | None = Field(None, ge=1, le=10**10, description="spent: total paid, in fen")
    product_ids: list[int] | None = Field(None, min_length=1, max_length=50,
                                          description="bought: any of these products")

    @model_validator(mode="after")
    def _complete(self) -> PromoterConditionIn:
        if self.kind == "spent" and self.min_fen is None:
            raise ValueError("累计消费条件需要填写金额 min_fen")
        if self.kind == "bought" and not self.product_ids:
            raise ValueError("购买指定商品条件需要填写 product_ids")
        return self


class PolicyIn(Body):
    bind_on: BindOn | None = None
    bind_expire_days: int | None = Field(None, ge=0, le=3650)
    allow_rebind: bool | None = None
    promoter_mode: PromoterMode | None = None
    promoter_condition: PromoterConditionIn | None = None


class AuditQuery(Query):
    target_type: str | None = None
    target_id: str | None = None
    before_id: int | None = None
    limit: int = Field(50, ge=1, le=200)


class StaffIn(Body):
    username: str = Field(min_length=2, max_length=60)
    password: str = Field(min_length=8, max_length=128)
    display_name: str = Field(min_length=1, max_length=60)
    role: Literal["operator", "finance", "sales"] = "sales"
    member_id: int | None = Field(None, ge=1, le=2**53)


class StaffPatch(Body):
    role: Literal["operator", "finance", "sales"] | None = None
    status: Literal["active", "disabled"] | None = None


@route(bp, "/login", method="POST", auth=None, body=StaffLoginIn, limit="staff_login_ip",
       response=StaffLoginOut, errors=("bad_credentials", "login_locked", "rate_limited"))
def login(body: StaffLoginIn) -> StaffLoginOut:
    """Back-office log in with username and password (throttled; 429 with Retry-After)."""
    account = staff.login(tenant_slug=body.tenant, username=body.username,
                          password=body.password)
    token = issue_token(kind="staff", tenant_id=account.tenant_id, subject_id=account.id,
                        role=account.role, version=account.token_version)
    return StaffLoginOut(token=token, staff=staff.staff_view(account), permissions=policy.permissions_of(account.role))


@route(bp, "/logout", method="POST", auth="staff", response=Done)
def logout(principal: Principal) -> Done:
    """End every session of the calling staff account (all its tokens)."""
    staff.logout(tenant_id=principal.tenant_id, staff_id=principal.subject_id)
    return Done(ok=True)


@route(bp, "/tenant", auth="staff", response=TenantOut)
def my_tenant(principal: Principal) -> dict[str, Any]:
    """The brand the staff account belongs to (no secrets)."""
    return tenants.public_view(tenants.get_tenant(tenant_id=principal.tenant_id))


@route(bp, "/tenant/policy", method="PATCH", auth="staff", body=PolicyIn, response=TenantOut)
def update_policy(principal: Principal, body: PolicyIn) -> dict[str, Any]:
    """Binding policy: bind on visit/purchase, expiry days (0 = permanent), re-binding."""
    changes = body.model_dump(exclude_unset=True, exclude_none=False)
    if body.promoter_condition is not None:
        changes["promoter_condition"] = body.promoter_condition.model_dump(exclude_none=True)
    if changes.get("bind_expire_days") == 0:
        changes["bind_expire_days"] = None
    tenant = tenants.update_policy(tenant_id=principal.tenant_id, changes=changes,
                                   actor=principal.actor)
    return tenants.public_view(tenant)


@route(bp, "/staff", method="POST", auth="staff", body=StaffIn, status=201,
       response=StaffOut, errors=("member_not_found",))
def add_staff(principal: Principal, body: StaffIn) -> dict[str, Any]:
    """The boss adds an operator or sales staff account."""
    account = staff_accounts.create_staff(
        tenant_id=principal.tenant_id, username=body.username, password=body.password,
        display_name=body.display_name, role=body.role, member_id=body.member_id,
        actor=principal.actor)
    return staff.staff_view(account)


@route(bp, "/staff", auth="staff", response=Items[StaffOut])
def list_staff(principal: Principal) -> Items[StaffOut]:
    """The tenant's staff accounts."""
    return Items[StaffOut](items=[staff.staff_view(a) for a in staff.list_staff(tenant_id=principal.tenant_id)])


@route(bp, "/staff/<int:staff_id>", method="PATCH", auth="staff", body=StaffPatch,
       response=StaffOut, errors=("boss_protected", "staff_not_found"))
def update_staff(principal: Principal, body: StaffPatch, staff_id: int) -> dict[str, Any]:
    """Change a staff account's role or deactivate it (audited); its tokens stop working."""
    account = staff.update_staff(tenant_id=principal.tenant_id, staff_id=staff_id,
                                 role=body.role, status=body.status, actor=principal.actor)
    return staff.staff_view(account)


@route(bp, "/members", auth="staff", query=MemberPage, response=Page[MemberPrivateOut])
def list_members(principal: Principal, query: MemberPage) -> dict[str, Any]:
    """Members, paged; q searches nickname or invite code."""
    rows = members.list_members(tenant_id=principal.tenant_id, after_id=query.after_id,
                                limit=query.limit, query=query.q)
    return page_of(rows, lambda m: members.member_view(m, private=True), query.limit)


@route(bp, "/members/<int:member_id>", auth="staff", response=MemberDetailOut, errors=("member_not_found",))
def get_member(principal: Principal, member_id: int) -> MemberDetailOut:
    """One member with upline and team counts."""
    member = members.get_member(tenant_id=principal.tenant_id, member_id=member_id)
    upline = members.upline(tenant_id=principal.tenant_id, member_id=member_id)
    return MemberDetailOut(**members.member_view(member, private=True),
                           upline=[members.member_view(m) for m in upline])


@route(bp, "/members/<int:member_id>", method="PATCH", auth="staff", body=AdjustIn,
       response=MemberPrivateOut, errors=("member_not_found",))
def adjust_member(principal: Principal, body: AdjustIn, member_id: int) -> dict[str, Any]:
    """Set a member's VIP level or promoter status by hand (audited). Agent levels and
    promoter tiers: PUT /api/v1/admin/rewards/members/{id}/level."""
    changes = body.model_dump(exclude_unset=True)
    member = members.adjust_member(tenant_id=principal.tenant_id, member_id=member_id,
                                   changes=changes, actor=principal.actor)
    return members.member_view(member, private=True)


@route(bp, "/audit", auth="staff", query=AuditQuery, response=Page[AuditOut])
def audit(principal: Principal, query: AuditQuery) -> dict[str, Any]:
    """The audit trail, newest first."""
    rows = list_audit(tenant_id=principal.tenant_id, target_type=query.target_type,
                      target_id=query.target_id, before_id=query.before_id, limit=query.limit)
    return page_of(rows, audit_view, query.limit)
