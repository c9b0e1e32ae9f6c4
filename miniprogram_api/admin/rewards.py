"""Back-office: reward plans (versions, validation, activation), the simulator, replays
of a draft plan, payouts, and setting a member's agent level or tier by hand."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import AwareDatetime, Field, field_validator

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.rewards import service as rewards
from miniprogram_api.http import Body, Items, Page, Query, page_of, route
from miniprogram_api.schemas.rewards import (
    LevelChangeOut,
    MemberLevelOut,
    PayoutOut,
    PlanCheckOut,
    PlanDocumentOut,
    PlanVersionOut,
    ReplayOut,
    SimulationOut,
)

bp = Blueprint("admin_rewards", __name__, url_prefix="/api/v1/admin/rewards")



class PlanIn(Body):
    document: dict[str, Any]


class PlanPage(Query):
    before_version: int | None = Field(None, ge=1)
    limit: int = Field(50, ge=1, le=200)


class SimulateIn(Body):
    case: dict[str, Any]
    version: int | None = Field(None, ge=1)


class ReplayIn(Body):
    document: dict[str, Any] | None = None
    version: int | None = Field(None, ge=1)
    start: AwareDatetime
    end: AwareDatetime
    top: int = Field(100, ge=1, le=1000)


class PayoutPage(Query):
    member_id: int | None = Field(None, ge=1)
    order_id: int | None = Field(None, ge=1)
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(50, ge=1, le=200)


class LevelIn(Body):
    agent_level: str | None = Field(None, min_length=1, max_length=32)
    promoter_tier: str | None = Field(None, min_length=1, max_length=32, description="not null when sent")
    reason: str | None = Field(None, min_length=1, max_length=200, description="why (kept in the audit log)")

    @field_validator("promoter_tier")
    @classmethod
    def _tier_not_null(cls, value: str | None) -> str | None:
        if value is None:  # sent as null: a tier cannot be cleared
            raise ValueError("不能为空")
        return value


@route(bp, "/plans", auth="staff", query=PlanPage, response=Page[PlanVersionOut])
def list_plans(principal: Principal, query: PlanPage) -> Page[PlanVersionOut]:
    """The tenant's plan versions, newest first."""
    rows = rewards.list_plan_versions(tenant_id=principal.tenant_id, before_version=query.before_version,
                                      limit=query.limit)
    return Page[PlanVersionOut](items=[rewards.plan_view(r, with_document=False) for r in rows],
                                next_cursor=rows[-1].version if len(rows) == query.limit else None)


@route(bp, "/plans", method="POST", auth="staff", body=PlanIn, status=201,
       response=PlanDocumentOut, errors=("invalid_plan",))
def save_plan(principal: Principal, body: PlanIn) -> dict[str, Any]:
    """Save a plan document as the next version (a draft); 400 invalid_plan lists every defect."""
    row = rewards.save_plan_version(tenant_id=principal.tenant_id, document=body.document,
                                    actor=principal.actor)
    return rewards.plan_view(row)


@route(bp, "/plans/validate", method="POST", auth="staff", body=PlanIn, response=PlanCheckOut,
       errors=("invalid_plan",))
def validate_plan(principal: Principal, body: PlanIn) -> PlanCheckOut:
    """Validate a plan document without saving it; returns its canonical form."""
    from backend.rewards.plan import plan_to_json

    return PlanCheckOut(valid=True, plan=plan_to_json(rewards.validate_plan(document=body.document)))


@route(bp, "/plans/active", auth="staff", response=PlanDocumentOut, errors=("no_active_plan",))
def active_plan(principal: Principal) -> dict[str, Any]:
    """The active plan version."""
    return rewards.plan_view(rewards.active_plan_row(tenant_id=principal.tenant_id))


@route(bp, "/plans/<int:version>", auth="staff", response=PlanDocumentOut,
       errors=("plan_version_not_found",))
def get_plan(principal: Principal, version: int) -> dict[str, Any]:
    """One plan version (old versions stay readable)."""
    return rewards.plan_view(rewards.get_plan_version(tenant_id=principal.tenant_id, version=version))


@route(bp, "/plans/<int:version>/activate", method="POST", auth="staff",
       response=PlanVersionOut, errors=("plan_version_not_found",))
def activate(principal: Principal, version: int) -> dict[str, Any]:
    """Make a version the active plan; the previous one is retired (audited)."""
    row = rewards.activate_plan(tenant_id=principal.tenant_id, version=version, actor=principal.actor,
                                now=utcnow())
    return rewards.plan_view(row, with_document=False)


@route(bp, "/simulate", method="POST", auth="staff", body=SimulateIn, limit="simulate_staff",
       body_limit="large", response=SimulationOut, errors=("invalid_case", "no_active_plan"))
def simulate(principal: Principal, body: SimulateIn) -> dict[str, Any]:
    """Payout lines with explanations for a case: its own plan, a version, or the active plan."""
    return rewards.simulate_case(tenant_id=principal.tenant_id, case=body.case, version=body.version)


@route(bp, "/replay", method="POST", auth="staff", body=ReplayIn,
       response=ReplayOut, errors=("invalid_plan", "no_active_plan"))
def replay(principal: Principal, body: ReplayIn) -> dict[str, Any]:
    """What a draft (document or stored version) would have paid for a period's order lines
    against what was paid, per member and in total."""
    draft: Any = body.document
    if draft is None:
        version = body.version
        draft = (rewards.plan_of(rewards.get_plan_version(tenant_id=principal.tenant_id, version=version))
                 if version is not None else rewards.get_active_plan(tenant_id=principal.tenant_id))
    return rewards.replay_plan(tenant_id=principal.tenant_id, draft=draft, period_start=body.start,
                               period_end=body.end, top=body.top)


@route(bp, "/payouts", auth="staff", query=PayoutPage, response=Page[PayoutOut])
def payouts(principal: Principal, query: PayoutPage) -> dict[str, Any]:
    """Payout lines, newest first, optionally of one member or one order."""
    rows = rewards.list_payouts(tenant_id=principal.tenant_id, member_id=query.member_id,
                                order_id=query.order_id, before_id=query.before_id, limit=query.limit)
    return page_of(rows, rewards.payout_view, query.limit)


@route(bp, "/members/<int:member_id>/level", method="PUT", auth="staff", body=LevelIn,
       response=MemberLevelOut, errors=("no_active_plan", "unknown_level"))
def set_level(principal: Principal, body: LevelIn, member_id: int) -> MemberLevelOut:
    """Set a member's agent level (null clears it) and/or promoter tier by hand (audited)."""
    changes = body.model_dump(exclude_unset=True)
    member = rewards.set_member_level(tenant_id=principal.tenant_id, member_id=member_id,
                                      actor=principal.actor, **changes)
    history = rewards.level_history(tenant_id=principal.tenant_id, member_id=member.id, limit=10)
    return MemberLevelOut(member_id=member.id, agent_level=member.agent_level, promoter_tier=member.promoter_tier,
                          history=[rewards.level_change_view(c) for c in history])


@route(bp, "/members/<int:member_id>/levels", auth="staff", response=Items[LevelChangeOut],
       errors=("member_not_found",))
def level_history(principal: Principal, member_id: int) -> Items[LevelChangeOut]:
    """A member's agent level and tier changes, newest first."""
    history = rewards.level_history(tenant_id=principal.tenant_id, member_id=member_id)
    return Items[LevelChangeOut](items=[rewards.level_change_view(c) for c in history])
