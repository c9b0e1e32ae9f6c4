"""Back-office marketing: coupons (create, stop, grant, what was issued and used) and
the tenant's marketing rules. Writes are boss/operator, audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from flask import Blueprint
from pydantic import AwareDatetime, Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.marketing import coupons
from miniprogram_api.http import Body, Query, page_of, route

bp = Blueprint("admin_marketing", __name__, url_prefix="/api/v1/admin/marketing")

MANAGERS = ("boss", "operator")
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
    status: Literal["active", "stopped"]


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


@route(bp, "/coupons", auth="staff", query=CouponPage)
def list_coupons(principal: Principal, query: CouponPage) -> dict[str, Any]:
    """The brand's coupons with how many were issued and used."""
    rows = coupons.list_coupons(tenant_id=principal.tenant_id, before_id=query.before_id, limit=query.limit)
    used = coupons.used_counts(tenant_id=principal.tenant_id, coupon_ids=[c.id for c in rows])
    return page_of(rows, lambda c: coupons.coupon_view(c, used=used.get(c.id, 0)), query.limit)


@route(bp, "/coupons", method="POST", auth="staff", roles=MANAGERS, body=CouponIn, status=201)
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


@route(bp, "/coupons/<int:coupon_id>/status", method="POST", auth="staff", roles=MANAGERS, body=StatusIn)
def coupon_status(principal: Principal, coupon_id: int, body: StatusIn) -> dict[str, Any]:
    """Stop issuing a coupon, or resume."""
    return coupons.coupon_view(coupons.set_coupon_status(tenant_id=principal.tenant_id, coupon_id=coupon_id,
                                                         status=body.status, actor=principal.actor))


@route(bp, "/coupons/<int:coupon_id>/grant", method="POST", auth="staff", roles=MANAGERS, body=GrantIn,
       status=201)
def grant_coupon(principal: Principal, coupon_id: int, body: GrantIn) -> dict[str, Any]:
    """Give a member one coupon (stock and the per-member limit apply)."""
    now = utcnow()
    held = coupons.grant_coupon(tenant_id=principal.tenant_id, coupon_id=coupon_id, member_id=body.member_id,
                                actor=principal.actor, now=now)
    return coupons.held_view(held, coupons.get_coupon(tenant_id=principal.tenant_id, coupon_id=coupon_id), now=now)


@route(bp, "/policy", auth="staff")
def get_policy(principal: Principal) -> dict[str, Any]:
    """The tenant's marketing rules."""
    return coupons.policy_view(coupons.policy(tenant_id=principal.tenant_id))


@route(bp, "/policy", method="PATCH", auth="staff", roles=MANAGERS, body=PolicyIn)
def update_policy(principal: Principal, body: PolicyIn) -> dict[str, Any]:
    """Change the marketing rules (refund returns coupons, new-member and invite coupons)."""
    return coupons.policy_view(coupons.update_policy(tenant_id=principal.tenant_id,
                                                     changes=body.model_dump(exclude_unset=True),
                                                     actor=principal.actor))
