"""Mini-program: log in, profile, binding, team views."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint
from pydantic import Field

from backend.auth.tokens import Principal, issue_token
from backend.db import utcnow
from backend.members import bind_inbox
from backend.members import service as members
from backend.oa import service as oa
from miniprogram_api.http import (
    Body,
    Items,
    Page,
    Query,
    authenticate_now,
    page_of,
    route,
    token_state_checked,
)
from miniprogram_api.schemas.common import Done
from miniprogram_api.schemas.members import (
    BindOut,
    MemberLoginOut,
    MemberMeOut,
    MemberOut,
    MemberPrivateOut,
    OaQrcodeOut,
    TeamCounts,
)

bp = Blueprint("mp_members", __name__, url_prefix="/api/v1/mp")


class LoginIn(Body):
    tenant: str = Field(min_length=2, max_length=40, description="tenant slug")
    code: str = Field(min_length=1, max_length=128, description="wx.login code")


class ProfileIn(Body):
    nickname: str | None = Field(None, min_length=1, max_length=64)
    avatar_url: str | None = Field(None, max_length=512)


class BindIn(Body):
    source: Literal["share", "staff_code", "live_room", "shop", "invite_code"]
    scene: str | None = Field(None, min_length=1, max_length=64)
    invite_code: str | None = Field(None, min_length=1, max_length=12)


class TeamQuery(Query):
    level: Literal["1", "2", "3", "all"] = "1"
    after_id: int = Field(0, ge=0)
    limit: int = Field(20, ge=1, le=100)


@route(bp, "/login", method="POST", auth=None, body=LoginIn, limit="mp_login_ip", response=MemberLoginOut,
       errors=("invalid_login_code", "member_frozen", "rate_limited", "tenant_not_found", "wechat_unavailable"))
def login(body: LoginIn) -> MemberLoginOut:
    """Exchange a wx.login code for Siyu's own token (throttled per client address)."""
    member = members.login_with_code(tenant_slug=body.tenant, code=body.code, now=utcnow())
    token = issue_token(kind="member", tenant_id=member.tenant_id, subject_id=member.id,
                        version=member.token_version)
    return MemberLoginOut(token=token, member=members.member_view(member, private=True))


@route(bp, "/logout", method="POST", auth="member", response=Done)
def logout(principal: Principal) -> Done:
    """End every session of the calling member (all its tokens)."""
    members.logout(tenant_id=principal.tenant_id, member_id=principal.subject_id)
    return Done(ok=True)


@route(bp, "/me", auth="member", response=MemberMeOut)
def me(principal: Principal) -> MemberMeOut:
    """The calling member, with team counts; follow_pending: an official-account follow
    of theirs waits for the binding worker (OA_INBOX=worker), its binding shows shortly;
    bind_request: their latest binding request queued for the worker
    (MP_BIND_INBOX=worker), queued or what became of it."""
    member = members.get_member(tenant_id=principal.tenant_id, member_id=principal.subject_id)
    return MemberMeOut(**members.member_view(member, private=True),
                       follow_pending=oa.follow_pending(tenant_id=principal.tenant_id, oa_openid=member.oa_openid),
                       bind_request=bind_inbox.latest_request(tenant_id=principal.tenant_id, member_id=member.id))


@route(bp, "/me", method="PATCH", auth="member", body=ProfileIn, response=MemberPrivateOut)
def update_me(principal: Principal, body: ProfileIn) -> dict[str, Any]:
    """Update nickname / avatar."""
    member = members.update_profile(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                    nickname=body.nickname, avatar_url=body.avatar_url)
    return members.member_view(member, private=True)


@route(bp, "/me/bind", method="POST", auth="member", body=BindIn, response=BindOut, token_state="in_unit",
       errors=("already_bound", "binding_cycle", "invalid_scene", "invite_code_unknown", "member_not_found",
               "parent_not_promoter", "self_binding", "staff_not_found"))
def bind(principal: Principal, body: BindIn) -> BindOut:
    """Bind to the promoter a share scene or an invite code names: in the request, or
    (MP_BIND_INBOX=worker) checked, queued and answered `queued` at once; the binding
    worker binds it a moment later (`GET /mp/me` shows the outcome)."""
    if not bind_inbox.queued():
        authenticate_now(principal)  # binding in the request sets things off: the token first
    result = bind_inbox.request_binding(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                        source=body.source, scene=body.scene, invite_code=body.invite_code,
                                        now=utcnow(), token_version=principal.version)
    if result.token_checked:  # the queueing statement checked the caller's token state
        token_state_checked()
    return BindOut.model_validate(result)


@route(bp, "/me/upline", auth="member", response=Items[MemberOut])
def my_upline(principal: Principal) -> Items[MemberOut]:
    """My upline, nearest first (nickname and avatar only)."""
    rows = members.upline(tenant_id=principal.tenant_id, member_id=principal.subject_id)
    return Items[MemberOut](items=[members.member_view(m) for m in rows])


@route(bp, "/me/team/summary", auth="member", response=TeamCounts)
def my_team_summary(principal: Principal) -> dict[str, Any]:
    """Team size in total and per level."""
    return members.team_summary(tenant_id=principal.tenant_id, member_id=principal.subject_id)


@route(bp, "/me/team", auth="member", query=TeamQuery, response=Page[MemberOut])
def my_team(principal: Principal, query: TeamQuery) -> dict[str, Any]:
    """One page of my team: level 1 (direct fans), 2, 3 or all."""
    level = None if query.level == "all" else int(query.level)
    rows = members.team_page(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                             level=level, after_id=query.after_id, limit=query.limit)
    return page_of(rows, members.member_view, query.limit)


@route(bp, "/me/oa-qrcode", auth="member", response=OaQrcodeOut)
def my_oa_qrcode(principal: Principal) -> dict[str, Any]:
    """My official-account QR: whoever follows through it becomes my fan."""
    from backend.oa.service import promoter_qrcode

    return promoter_qrcode(tenant_id=principal.tenant_id, member_id=principal.subject_id)
