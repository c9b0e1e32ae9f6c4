"""Members, tenants, staff and the audit trail as the API shows them."""

from __future__ import annotations

from typing import Any, Literal

from backend.members.types import BindOutcome, MemberStatus, PromoterStatus
from backend.staff.types import StaffRole, StaffStatus
from backend.tenants.types import BindOn, PromoterMode, TenantStatus
from miniprogram_api.http import Out, Timestamp


class TeamCounts(Out):
    total: int
    level1: int
    level2: int
    level3: int


class MemberOut(Out):
    """A member as others see them."""

    id: int
    nickname: str
    avatar_url: str
    invite_code: str
    promoter_status: PromoterStatus
    promoter_tier: str
    agent_level: str | None
    member_level: int
    depth: int


class MemberPrivateOut(MemberOut):
    """A member as they (or an operator) see themselves."""

    parent_id: int | None
    bound_at: Timestamp | None
    pending_parent_id: int | None
    phone: str | None
    status: MemberStatus
    team: TeamCounts


class BindRequestOut(Out):
    """The member's latest binding request queued for the worker (MP_BIND_INBOX=worker):
    `queued` until the worker ran, then bound | pending (binds on the first purchase) |
    rebound | refused (with the error code and its Chinese message)."""

    id: int
    status: BindOutcome
    parent_id: int
    code: str | None
    message: str | None
    received_at: Timestamp


class MemberMeOut(MemberPrivateOut):
    follow_pending: bool
    bind_request: BindRequestOut | None


class MemberDetailOut(MemberPrivateOut):
    upline: list[MemberOut]


class MemberLoginOut(Out):
    token: str
    member: MemberPrivateOut


class BindOut(Out):
    """bound / rebound: done; pending: binds on the first purchase; queued
    (MP_BIND_INBOX=worker): checked and waiting for the binding worker, a moment —
    `GET /mp/me` shows the outcome (`bind_request`)."""

    status: Literal["bound", "pending", "rebound", "queued"]
    parent_id: int | None


class OaQrcodeOut(Out):
    scene: str
    ticket: str
    url: str
    image_url: str


class TenantOut(Out):
    id: int
    slug: str
    name: str
    status: TenantStatus
    mp_appid: str | None
    oa_appid: str | None
    pay_mchid: str | None
    wecom_corpid: str | None
    bind_on: BindOn
    bind_expire_days: int | None
    allow_rebind: bool
    promoter_mode: PromoterMode
    promoter_condition: dict[str, Any] | None
    has_secrets: list[str]
    created_at: Timestamp


class StaffOut(Out):
    id: int
    username: str
    display_name: str
    role: StaffRole
    status: StaffStatus
    member_id: int | None


class StaffLoginOut(Out):
    token: str
    staff: StaffOut
    permissions: list[str]  # what the role may do (backend/auth/policy.py): the web menu


class AuditOut(Out):
    id: int
    actor: str
    action: str
    target_type: str
    target_id: str
    before: Any
    after: Any
    at: Timestamp
