"""Back-office channel manager (渠道管理): channel policy, applications, authorizations,
certificates, agents' cloud stock, restocks, pickups to ship, the pieces ledger check.
Writes need the boss or operator role and are audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from flask import Blueprint, Response
from pydantic import Field

from backend.agents import service as agents
from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.flows import agent_channel as channel
from backend.flows import certificates
from backend.warehouse import service as warehouse
from miniprogram_api.http import Body, Items, Page, Query, page_of, route
from miniprogram_api.schemas.agents import (
    ApplicationOut,
    AuthorizationOut,
    AuthorizedOut,
    CertificateOut,
    ChannelSettingsOut,
    DecisionOut,
    PickupOut,
    RestockOut,
    RestockRefundOut,
    StockLine,
    WarehouseCheckOut,
)

bp = Blueprint("admin_agents", __name__, url_prefix="/api/v1/admin/agents")

Id = Annotated[int, Field(strict=True, ge=1, le=2**53)]
LevelKey = Annotated[str, Field(min_length=1, max_length=32)]
Category = Annotated[str, Field(min_length=1, max_length=40)]


class RegionIn(Body):
    province: str = Field(min_length=2, max_length=20)
    city: str | None = Field(None, min_length=2, max_length=20)


class LimitIn(Body):
    min_pieces: int = Field(0, strict=True, ge=0, le=warehouse.MAX_PIECES)
    max_pieces: int | None = Field(None, strict=True, ge=1, le=warehouse.MAX_PIECES)


class SettingsPatch(Body):
    review_by: Literal["hq", "upline"] | None = None
    settlement_mode: Literal["platform", "upline"] | None = None
    dropship_shortage: Literal["refuse", "platform"] | None = None
    transfer_confirmation: bool | None = None
    pickup_freight_fen: int | None = Field(None, strict=True, ge=0, le=10**7)
    certificate_days: int | None = Field(None, strict=True, ge=1, le=3650)
    restock_limits: dict[LevelKey, LimitIn] | None = None
    package_payment: Literal["before_review", "on_approval"] | None = None
    restock_refund: Literal["none", "whole", "lines"] | None = None


class DecisionIn(Body):
    reason: str = Field("", max_length=200)
    product_ids: list[Id] | None = Field(None, max_length=500)
    categories: list[Category] | None = Field(None, min_length=1, max_length=100)
    regions: list[RegionIn] | None = Field(None, min_length=1, max_length=100)


class AuthorizeIn(Body):
    member_id: Id
    level: LevelKey
    product_ids: list[Id] | None = Field(None, max_length=500)
    categories: list[Category] | None = Field(None, min_length=1, max_length=100)
    regions: list[RegionIn] | None = Field(None, min_length=1, max_length=100)
    valid_until: datetime | None = None


class AuthorizationPatch(Body):
    product_ids: list[Id] | None = Field(None, max_length=500)
    categories: list[Category] | None = Field(None, min_length=1, max_length=100)
    regions: list[RegionIn] | None = Field(None, min_length=1, max_length=100)
    valid_until: datetime | None = None


class RestockRefundIn(Body):
    sku_id: Id | None = None  # one SKU's line (tenant rule `lines`); none: the whole restock
    reason: str = Field(min_length=1, max_length=200)


class StatusIn(Body):
    reason: str = Field(min_length=1, max_length=200)


class ShipIn(Body):
    company: str = Field(min_length=1, max_length=40)
    tracking_no: str = Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9\-]+$")


class AppPage(Query):
    status: Literal["pending", "approved", "rejected"] | None = None
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(20, ge=1, le=50)


class AuthPage(Query):
    status: Literal["active", "suspended", "revoked"] | None = None
    after_id: int = Field(0, ge=0)
    limit: int = Field(20, ge=1, le=50)


class PickupPage(Query):
    status: Literal["requested", "shipped"] | None = None
    limit: int = Field(20, ge=1, le=50)


class PageQuery(Query):
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(20, ge=1, le=50)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    from datetime import UTC

    return value.replace(tzinfo=UTC)


@route(bp, "/settings", auth="staff", response=ChannelSettingsOut)
def get_settings(principal: Principal) -> dict[str, Any]:
    """The channel policy."""
    return agents.settings_view(agents.get_settings(tenant_id=principal.tenant_id))


@route(bp, "/settings", method="PATCH", auth="staff", body=SettingsPatch,
       response=ChannelSettingsOut, errors=("invalid_agent_input",))
def patch_settings(principal: Principal, body: SettingsPatch) -> dict[str, Any]:
    """Change the channel policy (audited)."""
    changes = body.model_dump(exclude_unset=True)
    if "restock_limits" in changes and changes["restock_limits"] is not None:
        changes["restock_limits"] = {k: {kk: vv for kk, vv in v.items() if vv is not None}
                                     for k, v in changes["restock_limits"].items()}
    return agents.settings_view(agents.update_settings(tenant_id=principal.tenant_id, changes=changes,
                                                       actor=principal.actor, now=utcnow()))


@route(bp, "/applications", auth="staff", query=AppPage, response=Page[ApplicationOut])
def applications(principal: Principal, query: AppPage) -> dict[str, Any]:
    """Applications, newest first."""
    rows = agents.list_applications(tenant_id=principal.tenant_id, status=query.status,
                                    before_id=query.before_id, limit=query.limit)
    return page_of(rows, agents.application_view, query.limit)


def _decide(principal: Principal, application_id: int, body: DecisionIn, approve: bool) -> dict[str, Any]:
    return channel.decide_application(
        tenant_id=principal.tenant_id, application_id=application_id, approve=approve, reason=body.reason,
        actor=principal.actor, now=utcnow(), product_ids=body.product_ids, categories=body.categories,
        regions=[r.model_dump(exclude_none=True) for r in body.regions] if body.regions else None)


@route(bp, "/applications/<int:application_id>/approve", method="POST", auth="staff", body=DecisionIn,
       response=DecisionOut, errors=("application_not_found", "application_state_conflict", "insufficient_balance",
                                     "invalid_agent_input", "package_unpaid"))
def approve(principal: Principal, application_id: int, body: DecisionIn) -> dict[str, Any]:
    """Approve as headquarters: authorization, level and certificate (audited)."""
    return _decide(principal, application_id, body, True)


@route(bp, "/applications/<int:application_id>/reject", method="POST", auth="staff", body=DecisionIn,
       response=DecisionOut, errors=("application_not_found", "application_state_conflict", "invalid_agent_input"))
def reject(principal: Principal, application_id: int, body: DecisionIn) -> dict[str, Any]:
    """Reject with a reason (audited)."""
    return _decide(principal, application_id, body, False)


@route(bp, "/authorizations", auth="staff", query=AuthPage, response=Page[AuthorizationOut])
def authorizations(principal: Principal, query: AuthPage) -> dict[str, Any]:
    """Authorizations by id."""
    now = utcnow()
    rows = agents.list_authorizations(tenant_id=principal.tenant_id, status=query.status, after_id=query.after_id,
                                      limit=query.limit)
    return page_of(rows, lambda a: agents.authorization_view(a, now=now), query.limit)


@route(bp, "/authorizations", method="POST", auth="staff", body=AuthorizeIn, status=201,
       response=AuthorizedOut, errors=("invalid_agent_input",))
def authorize(principal: Principal, body: AuthorizeIn) -> dict[str, Any]:
    """Grant or change a member's authorization directly; a new certificate (audited)."""
    return channel.authorize(
        tenant_id=principal.tenant_id, member_id=body.member_id, level=body.level, actor=principal.actor,
        now=utcnow(), product_ids=body.product_ids, categories=body.categories,
        valid_until=_aware(body.valid_until),
        regions=[r.model_dump(exclude_none=True) for r in body.regions] if body.regions else None)


@route(bp, "/authorizations/<int:authorization_id>", method="PATCH", auth="staff", body=AuthorizationPatch,
       response=AuthorizationOut, errors=("authorization_not_found", "invalid_agent_input"))
def patch_authorization(principal: Principal, authorization_id: int, body: AuthorizationPatch) -> dict[str, Any]:
    """Change products, categories, regions (null = nationwide) or validity (audited);
    a new certificate shows the change."""
    changes = body.model_dump(exclude_unset=True)
    if changes.get("regions"):
        changes["regions"] = [{k: v for k, v in r.items() if v is not None} for r in changes["regions"]]
    if "valid_until" in changes:
        if changes["valid_until"] is None:
            del changes["valid_until"]
        else:
            changes["valid_until"] = _aware(changes["valid_until"])
    return channel.update_authorization(tenant_id=principal.tenant_id, authorization_id=authorization_id,
                                        changes=changes, actor=principal.actor, now=utcnow())


def _status(principal: Principal, authorization_id: int, body: StatusIn, action: str) -> dict[str, Any]:
    return channel.change_authorization_status(tenant_id=principal.tenant_id, authorization_id=authorization_id,
                                               action=action, reason=body.reason, actor=principal.actor,
                                               now=utcnow())


@route(bp, "/authorizations/<int:authorization_id>/suspend", method="POST", auth="staff", body=StatusIn,
       response=AuthorizationOut, errors=("authorization_not_found", "authorization_state_conflict"))
def suspend(principal: Principal, authorization_id: int, body: StatusIn) -> dict[str, Any]:
    """Suspend an authorization (audited)."""
    return _status(principal, authorization_id, body, "suspend")


@route(bp, "/authorizations/<int:authorization_id>/reinstate", method="POST", auth="staff", body=StatusIn,
       response=AuthorizationOut, errors=("authorization_not_found", "authorization_state_conflict"))
def reinstate(principal: Principal, authorization_id: int, body: StatusIn) -> dict[str, Any]:
    """Lift a suspension (audited)."""
    return _status(principal, authorization_id, body, "reinstate")


@route(bp, "/authorizations/<int:authorization_id>/revoke", method="POST", auth="staff", body=StatusIn,
       response=AuthorizationOut, errors=("authorization_not_found", "authorization_state_conflict"))
def revoke(principal: Principal, authorization_id: int, body: StatusIn) -> dict[str, Any]:
    """Revoke an authorization, its level and its certificates (audited)."""
    return _status(principal, authorization_id, body, "revoke")


@route(bp, "/members/<int:member_id>/certificates", auth="staff", response=Items[CertificateOut])
def member_certificates(principal: Principal, member_id: int) -> dict[str, Any]:
    """A member's certificates, newest first."""
    certs = agents.certificates_of(tenant_id=principal.tenant_id, member_id=member_id)
    return Items[CertificateOut](items=[agents.certificate_view(c) for c in certs])


@route(bp, "/certificates/<int:certificate_id>/image", auth="staff", raw=True,
       content="image/png", errors=("certificate_not_found",))
def certificate_image(principal: Principal, certificate_id: int) -> Response:
    """A certificate as a PNG."""
    return Response(certificates.render_certificate(tenant_id=principal.tenant_id, certificate_id=certificate_id),
                    mimetype="image/png")


@route(bp, "/members/<int:member_id>/stock", auth="staff", response=Items[StockLine])
def member_stock(principal: Principal, member_id: int) -> dict[str, Any]:
    """An agent's cloud stock."""
    stock = warehouse.stock_of(tenant_id=principal.tenant_id, member_id=member_id)
    return Items[StockLine](items=[StockLine(sku_id=s, pieces=n) for s, n in stock.items()])


@route(bp, "/restocks", auth="staff", query=PageQuery, response=Page[RestockOut])
def restocks(principal: Principal, query: PageQuery) -> dict[str, Any]:
    """Every restock, newest first."""
    rows = warehouse.list_restocks(tenant_id=principal.tenant_id, before_id=query.before_id, limit=query.limit)
    return page_of(rows, warehouse.restock_view, query.limit)


@route(bp, "/restocks/<int:restock_id>/refund", method="POST", auth="staff", body=RestockRefundIn,
       response=RestockRefundOut, errors=("invalid_stock_input", "nothing_to_refund", "restock_not_found",
                                          "restock_not_refundable", "restock_pieces_moved", "restock_state_conflict"))
def refund_restock(principal: Principal, restock_id: int, body: RestockRefundIn) -> dict[str, Any]:
    """Refund a paid restock, whole or one SKU (tenant rule): its pieces leave the
    agent's cloud stock back to their source, the money goes back (audited)."""
    return channel.refund_restock(tenant_id=principal.tenant_id, restock_id=restock_id, sku_id=body.sku_id,
                                  reason=body.reason, actor=principal.actor, now=utcnow())


@route(bp, "/pickups", auth="staff", query=PickupPage, response=Items[PickupOut])
def pickups(principal: Principal, query: PickupPage) -> dict[str, Any]:
    """Pickups to ship (status requested) or shipped."""
    rows = warehouse.list_pickups(tenant_id=principal.tenant_id, status=query.status, limit=query.limit)
    return Items[PickupOut](items=[warehouse.pickup_view(p) for p in rows])


@route(bp, "/pickups/<int:pickup_id>/ship", method="POST", auth="staff", body=ShipIn,
       response=PickupOut, errors=("pickup_not_found",))
def ship_pickup(principal: Principal, pickup_id: int, body: ShipIn) -> dict[str, Any]:
    """Record a pickup's shipment and tracking (audited)."""
    return warehouse.pickup_view(warehouse.ship_pickup(tenant_id=principal.tenant_id, pickup_id=pickup_id,
                                                       company=body.company, tracking_no=body.tracking_no,
                                                       actor=principal.actor, now=utcnow()))


@route(bp, "/warehouse/check", auth="staff", response=WarehouseCheckOut)
def warehouse_check(principal: Principal) -> dict[str, Any]:
    """Whether every cloud-stock balance equals its ledger (as `flask warehouse check`)."""
    r = warehouse.check(tenant_id=principal.tenant_id)
    return WarehouseCheckOut(ok=r.ok, balances=r.balances, postings=r.postings, differences=r.differences,
                             unbalanced_postings=r.unbalanced_postings, negative=r.negative)
