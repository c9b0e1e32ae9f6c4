"""Back-office marketing: coupons (create, stop, grant, what was issued and used), the
points rules and tasks, a member's points, and the tenant's marketing rules. Writes
are boss/operator, audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from flask import Blueprint
from pydantic import AwareDatetime, Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.flows import group_buy
from backend.flows import materials as flow_materials
from backend.marketing import coupons, groups, materials, points
from backend.marketing.types import MaterialStatus, OfferStatus
from miniprogram_api.http import Body, Items, Page, Query, page_of, route
from miniprogram_api.schemas.marketing import (
    CampaignAdminOut,
    CampaignOut,
    CouponAdminOut,
    CouponOut,
    GroupAdminOut,
    HeldCouponOut,
    MarketingPolicyOut,
    PointsPageOut,
    PointsRulesOut,
    PointsTaskAdminOut,
)
from miniprogram_api.schemas.more import MaterialOut, MaterialStatsOut

bp = Blueprint("admin_marketing", __name__, url_prefix="/api/v1/admin/marketing")

Id = Annotated[int, Field(strict=True, ge=1, le=2**53)]
Fen = Annotated[int, Field(strict=True, ge=0, le=10**11)]


class CouponIn(Body):
    name: str = Field(min_length=1, max_length=60)
    kind: Literal["amount", "percent", "threshold", "shipping"]
    amount_off_fen: Fen = 0
    percent_off: str | None = Field(None, max_length=8, pattern=r"^0?\.[0-9]{1,4}$")
    max_discount_fen: Fen | None = None
    threshold_fen: Fen = 0
    scope: Literal["all", "products", "categories", "excluded"] = "all"
    product_ids: list[Id] = Field(default_factory=list, max_length=500)
    categories: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default_factory=list, max_length=100)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    valid_days: int | None = Field(None, strict=True, ge=1, le=3650)
    total_stock: int = Field(strict=True, ge=1, le=coupons.MAX_STOCK)
    per_member_limit: int = Field(1, strict=True, ge=1, le=coupons.MAX_PER_MEMBER)
    claimable: bool = True


class StatusIn(Body):
    status: OfferStatus


class GrantIn(Body):
    member_id: Id


class PolicyIn(Body):
    return_coupon_on_refund: bool | None = None
    new_member_coupon_id: Id | None = None
    invite_coupon_id: Id | None = None


class CouponPage(Query):
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(50, ge=1, le=100)


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


@route(bp, "/coupons", auth="staff", query=CouponPage, response=Page[CouponAdminOut])
def list_coupons(principal: Principal, query: CouponPage) -> dict[str, Any]:
    """The brand's coupons with how many were issued and used."""
    rows = coupons.list_coupons(tenant_id=principal.tenant_id, before_id=query.before_id, limit=query.limit)
    used = coupons.used_counts(tenant_id=principal.tenant_id, coupon_ids=[c.id for c in rows])
    return page_of(rows, lambda c: coupons.coupon_view(c, used=used.get(c.id, 0)), query.limit)


@route(bp, "/coupons", method="POST", auth="staff", body=CouponIn, status=201,
       response=CouponAdminOut, errors=("invalid_marketing_input",))
def create_coupon(principal: Principal, body: CouponIn) -> dict[str, Any]:
    """Create a coupon: amount-off, percent-off with a ceiling, threshold (满减) or free shipping."""
    spec = coupons.CouponSpec(
        name=body.name, kind=body.kind, total_stock=body.total_stock, amount_off_fen=body.amount_off_fen,
        percent_off=body.percent_off, max_discount_fen=body.max_discount_fen, threshold_fen=body.threshold_fen,
        scope=body.scope, product_ids=tuple(body.product_ids), categories=tuple(body.categories),
        valid_from=_utc(body.valid_from), valid_until=_utc(body.valid_until), valid_days=body.valid_days,
        per_member_limit=body.per_member_limit, claimable=body.claimable)
    return coupons.coupon_view(coupons.create_coupon(tenant_id=principal.tenant_id, spec=spec, actor=principal.actor),
                               used=0)


@route(bp, "/coupons/<int:coupon_id>/status", method="POST", auth="staff", body=StatusIn, response=CouponOut,
       errors=("coupon_not_found",))
def coupon_status(principal: Principal, coupon_id: int, body: StatusIn) -> dict[str, Any]:
    """Stop issuing a coupon, or resume."""
    return coupons.coupon_view(coupons.set_coupon_status(tenant_id=principal.tenant_id, coupon_id=coupon_id,
                                                         status=body.status, actor=principal.actor))


@route(bp, "/coupons/<int:coupon_id>/grant", method="POST", auth="staff", body=GrantIn,
       status=201, response=HeldCouponOut, errors=("coupon_not_found", "coupon_out_of_stock"))
def grant_coupon(principal: Principal, coupon_id: int, body: GrantIn) -> dict[str, Any]:
    """Give a member one coupon (stock and the per-member limit apply)."""
    now = utcnow()
    held = coupons.grant_coupon(tenant_id=principal.tenant_id, coupon_id=coupon_id, member_id=body.member_id,
                                actor=principal.actor, now=now)
    return coupons.held_view(held, coupons.get_coupon(tenant_id=principal.tenant_id, coupon_id=coupon_id), now=now)


@route(bp, "/policy", auth="staff", response=MarketingPolicyOut)
def get_policy(principal: Principal) -> dict[str, Any]:
    """The tenant's marketing rules."""
    return coupons.policy_view(coupons.policy(tenant_id=principal.tenant_id))


@route(bp, "/policy", method="PATCH", auth="staff", body=PolicyIn,
       response=MarketingPolicyOut, errors=("coupon_not_found",))
def update_policy(principal: Principal, body: PolicyIn) -> dict[str, Any]:
    """Change the marketing rules (refund returns coupons, new-member and invite coupons)."""
    return coupons.policy_view(coupons.update_policy(tenant_id=principal.tenant_id,
                                                     changes=body.model_dump(exclude_unset=True),
                                                     actor=principal.actor))


class PointsRulesIn(Body):
    point_value_fen: int | None = Field(None, strict=True, ge=1, le=10000)
    points_max_ratio: str | None = Field(None, max_length=8, pattern=r"^(0?\.[0-9]{1,4}|0|1)$")
    earn_points_per_yuan: int | None = Field(None, strict=True, ge=0, le=10000)
    signin_points: int | None = Field(None, strict=True, ge=0, le=10000)
    bind_points: int | None = Field(None, strict=True, ge=0, le=100000)
    points_expire_days: int | None = Field(None, strict=True, ge=0, le=3650)


class TaskIn(Body):
    title: str = Field(min_length=1, max_length=60)
    points: int = Field(strict=True, ge=1, le=100000)
    repeat: Literal["once", "daily"] = "once"
    claim_code: str | None = Field(None, min_length=2, max_length=32)


class EntriesQuery(Query):
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(50, ge=1, le=100)


@route(bp, "/points-rules", auth="staff", response=PointsRulesOut)
def get_points_rules(principal: Principal) -> dict[str, Any]:
    """The points rules: value, share per order, earning, expiry."""
    return points.rules_view(points.effective_rules(tenant_id=principal.tenant_id))


@route(bp, "/points-rules", method="PATCH", auth="staff", body=PointsRulesIn, response=PointsRulesOut)
def update_points_rules(principal: Principal, body: PointsRulesIn) -> dict[str, Any]:
    """Change the points rules."""
    return points.rules_view(points.update_points_rules(tenant_id=principal.tenant_id,
                                                        changes=body.model_dump(exclude_unset=True),
                                                        actor=principal.actor))


@route(bp, "/points-tasks", auth="staff", response=Items[PointsTaskAdminOut])
def list_tasks(principal: Principal) -> dict[str, Any]:
    """The brand's points tasks, ended ones included."""
    rows = points.list_tasks(tenant_id=principal.tenant_id, active_only=False)
    return Items[PointsTaskAdminOut](items=[points.task_view(t, admin=True) for t in rows])


@route(bp, "/points-tasks", method="POST", auth="staff", body=TaskIn, status=201, response=PointsTaskAdminOut)
def create_task(principal: Principal, body: TaskIn) -> dict[str, Any]:
    """Define a task members do for points."""
    return points.task_view(points.create_task(tenant_id=principal.tenant_id, title=body.title, points=body.points,
                                               repeat=body.repeat, claim_code=body.claim_code,
                                               actor=principal.actor), admin=True)


@route(bp, "/points-tasks/<int:task_id>/status", method="POST", auth="staff", body=StatusIn,
       response=PointsTaskAdminOut, errors=("points_task_not_found",))
def task_status(principal: Principal, task_id: int, body: StatusIn) -> dict[str, Any]:
    """End a task or reopen it."""
    return points.task_view(points.set_task_status(tenant_id=principal.tenant_id, task_id=task_id,
                                                   status=body.status, actor=principal.actor), admin=True)


@route(bp, "/members/<int:member_id>/points", auth="staff", query=EntriesQuery, response=PointsPageOut,
       errors=("member_not_found",))
def member_points(principal: Principal, member_id: int, query: EntriesQuery) -> dict[str, Any]:
    """A member's points balance and entries."""
    balance, rows = points.member_points(tenant_id=principal.tenant_id, member_id=member_id,
                                         before_id=query.before_id, limit=query.limit)
    page = page_of(rows, points.entry_view, query.limit)
    page["balance"] = balance
    return page


class CampaignIn(Body):
    name: str = Field(min_length=1, max_length=60)
    product_id: Id
    sku_id: Id
    group_price_fen: int = Field(strict=True, ge=1, le=10**10)
    group_size: int = Field(strict=True, ge=2, le=100)
    time_limit_minutes: int = Field(strict=True, ge=5, le=7 * 24 * 60)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    leader_reward_points: int = Field(0, strict=True, ge=0, le=1_000_000)
    free_leader: bool = Field(False, strict=True, description="团长免单: refund the leader's order once the group fills")


class GroupPage(Query):
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(50, ge=1, le=100)


@route(bp, "/group-campaigns", auth="staff", query=CouponPage, response=Page[CampaignAdminOut])
def list_campaigns(principal: Principal, query: CouponPage) -> dict[str, Any]:
    """Group-buy campaigns with their groups per state."""
    rows = groups.list_campaigns(tenant_id=principal.tenant_id, before_id=query.before_id, limit=query.limit)
    stats = groups.campaign_stats(tenant_id=principal.tenant_id, campaign_ids=[c.id for c in rows])
    return page_of(rows, lambda c: CampaignAdminOut(**groups.campaign_view(c), groups=stats[c.id]), query.limit)


@route(bp, "/group-campaigns", method="POST", auth="staff", body=CampaignIn, status=201, response=CampaignOut,
       errors=("sku_not_found",))
def create_campaign(principal: Principal, body: CampaignIn) -> dict[str, Any]:
    """Create a group-buy campaign (拼团): a SKU, the group price, size and time limit."""
    spec = groups.CampaignSpec(
        name=body.name, product_id=body.product_id, sku_id=body.sku_id, group_price_fen=body.group_price_fen,
        group_size=body.group_size, time_limit_minutes=body.time_limit_minutes,
        starts_at=body.starts_at.astimezone(UTC), ends_at=body.ends_at.astimezone(UTC),
        leader_reward_points=body.leader_reward_points, free_leader=body.free_leader)
    return groups.campaign_view(group_buy.create_campaign(tenant_id=principal.tenant_id, spec=spec,
                                                          actor=principal.actor))


@route(bp, "/group-campaigns/<int:campaign_id>/status", method="POST", auth="staff", body=StatusIn,
       response=CampaignOut, errors=("group_campaign_not_found",))
def campaign_status(principal: Principal, campaign_id: int, body: StatusIn) -> dict[str, Any]:
    """Stop a campaign (forming groups run their course) or resume it."""
    return groups.campaign_view(groups.set_campaign_status(tenant_id=principal.tenant_id, campaign_id=campaign_id,
                                                           status=body.status, actor=principal.actor))


@route(bp, "/group-campaigns/<int:campaign_id>/groups", auth="staff", query=GroupPage,
       response=Page[GroupAdminOut], errors=("group_campaign_not_found",))
def campaign_groups(principal: Principal, campaign_id: int, query: GroupPage) -> dict[str, Any]:
    """A campaign's groups, newest first, with every seat and its order."""
    return group_buy.campaign_groups(tenant_id=principal.tenant_id, campaign_id=campaign_id, now=utcnow(),
                                     before_id=query.before_id, limit=query.limit)


class MaterialIn(Body):
    kind: Literal["image", "video", "copy"]
    title: str = Field(min_length=1, max_length=60)
    body: str = Field("", max_length=2000)
    media_urls: list[Annotated[str, Field(max_length=512)]] = Field(default_factory=list, max_length=9)
    category: str = Field("", max_length=40)
    product_id: Id | None = None


class MaterialStatusIn(Body):
    status: MaterialStatus


@route(bp, "/materials", auth="staff", query=CouponPage, response=Page[MaterialStatsOut])
def materials_stats(principal: Principal, query: CouponPage) -> dict[str, Any]:
    """The material library with downloads, shares, bindings and the orders they brought."""
    return flow_materials.brand_stats(tenant_id=principal.tenant_id, before_id=query.before_id, limit=query.limit)


@route(bp, "/materials", method="POST", auth="staff", body=MaterialIn, status=201,
       response=MaterialOut, errors=("invalid_marketing_input", "product_not_found"))
def create_material(principal: Principal, body: MaterialIn) -> dict[str, Any]:
    """Publish a material: pictures, a video URL or copy ({link}, {invite_code}, {nickname})."""
    return materials.material_view(flow_materials.create(
        tenant_id=principal.tenant_id, kind=body.kind, title=body.title, body=body.body, media_urls=body.media_urls,
        category=body.category, product_id=body.product_id, actor=principal.actor))


@route(bp, "/materials/<int:material_id>/status", method="POST", auth="staff", body=MaterialStatusIn,
       response=MaterialOut, errors=("material_not_found",))
def material_status(principal: Principal, material_id: int, body: MaterialStatusIn) -> dict[str, Any]:
    """Hide a material from promoters or show it again."""
    return materials.material_view(materials.set_material_status(
        tenant_id=principal.tenant_id, material_id=material_id, status=body.status, actor=principal.actor))
