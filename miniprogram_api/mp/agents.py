"""Agent centre (代理中心) in the mini-program: apply for a level, review downline
applications, my authorization and certificates, my cloud stock, restock, transfers to
my downline, pickups."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint, Response
from pydantic import Field

from backend.agents import service as agents
from backend.agents.types import ApplicationStatus
from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.flows import agent_channel as channel
from backend.flows import certificates
from backend.warehouse import service as warehouse
from miniprogram_api.http import Body, Items, Page, Query, page_of, route
from miniprogram_api.schemas.agents import (
    AgentMeOut,
    ApplicationOut,
    DecisionOut,
    LevelOut,
    PickupOut,
    RestockOut,
    RestockPlacedOut,
    StockLine,
    TransferOut,
)

bp = Blueprint("mp_agents", __name__, url_prefix="/api/v1/mp/agent")

Id = Annotated[int, Field(strict=True, ge=1, le=2**53)]
Pieces = Annotated[int, Field(strict=True, ge=1, le=warehouse.MAX_PIECES)]
Token = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class ApplicationIn(Body):
    level: str = Field(min_length=1, max_length=32)
    real_name: str = Field(min_length=2, max_length=40)
    id_number: str = Field(min_length=15, max_length=18, pattern=r"^[0-9]{15}([0-9]{2}[0-9Xx])?$")
    phone: str = Field(pattern=r"^1[0-9]{10}$")
    province: str = Field(min_length=2, max_length=20)
    city: str | None = Field(None, min_length=2, max_length=20)
    images: list[Annotated[str, Field(max_length=512, pattern=r"^https://")]] = Field(default_factory=list,
                                                                                      max_length=9)
    categories: list[Annotated[str, Field(min_length=1, max_length=40)]] | None = Field(None, min_length=1,
                                                                                          max_length=20)
    # the level's package to buy with the application (a SKU of a product granting the level):
    # an order to pay with /shop/orders/<package_order_id>/prepay or /pay-stored
    package_sku_id: Id | None = None


class DecisionIn(Body):
    reason: str = Field("", max_length=200)


class ItemIn(Body):
    sku_id: Id
    quantity: Pieces


class RestockIn(Body):
    items: list[ItemIn] = Field(min_length=1, max_length=20)
    source: Literal["upline", "platform"]
    # "stored": paid from my stored value in the same request (else pay it afterwards)
    pay: Literal["stored"] | None = None


class TransferIn(Body):
    to_member_id: Id
    sku_id: Id
    pieces: Pieces
    client_token: Token
    note: str = Field("", max_length=200)


class ReceiverIn(Body):
    name: str = Field(min_length=1, max_length=40)
    phone: str = Field(min_length=5, max_length=20, pattern=r"^[0-9+\- ]+$")
    address: str = Field(min_length=4, max_length=255)


class PickupIn(Body):
    sku_id: Id
    pieces: Pieces
    client_token: Token
    receiver: ReceiverIn


class PageQuery(Query):
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(20, ge=1, le=50)


class TransferPage(Query):
    status: Literal["pending", "done", "rejected"] | None = None
    limit: int = Field(20, ge=1, le=50)


@route(bp, "/levels", auth="member", response=Items[LevelOut])
def levels(principal: Principal) -> dict[str, Any]:
    """The brand's agent levels (lowest first)."""
    found = sorted(agents.levels(tenant_id=principal.tenant_id).values(), key=lambda lv: lv.rank)
    return Items[LevelOut](items=found)


@route(bp, "/applications", method="POST", auth="member", body=ApplicationIn, status=201,
       response=ApplicationOut, errors=("application_pending", "invalid_agent_input", "out_of_stock",
                                        "product_not_permitted", "product_off_shelf", "sku_not_found"))
def apply(principal: Principal, body: ApplicationIn) -> dict[str, Any]:
    """Apply for an agent level (reviewed by my upline agent or headquarters)."""
    app = channel.apply(tenant_id=principal.tenant_id, member_id=principal.subject_id, now=utcnow(),
                        **body.model_dump())
    return agents.application_view(app)


@route(bp, "/applications", auth="member", query=PageQuery, response=Page[ApplicationOut])
def my_applications(principal: Principal, query: PageQuery) -> dict[str, Any]:
    """My applications, newest first."""
    rows = agents.list_applications(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                    before_id=query.before_id, limit=query.limit)
    return page_of(rows, agents.application_view, query.limit)


@route(bp, "/reviews", auth="member", query=PageQuery, response=Page[ApplicationOut])
def reviews(principal: Principal, query: PageQuery) -> dict[str, Any]:
    """Applications of my downline waiting for my review."""
    rows = agents.list_applications(tenant_id=principal.tenant_id, reviewer_id=principal.subject_id,
                                    status=ApplicationStatus.PENDING, before_id=query.before_id, limit=query.limit)
    return page_of(rows, lambda a: agents.application_view(a, private=False), query.limit)


@route(bp, "/reviews/<int:application_id>/approve", method="POST", auth="member", body=DecisionIn,
       response=DecisionOut, errors=("application_not_found", "application_state_conflict", "insufficient_balance",
                                     "not_your_review", "package_unpaid"))
def approve(principal: Principal, application_id: int, body: DecisionIn) -> dict[str, Any]:
    """Approve a downline's application waiting for me."""
    return channel.decide_application(tenant_id=principal.tenant_id, application_id=application_id, approve=True,
                                      reason=body.reason, actor=f"member:{principal.subject_id}", now=utcnow(),
                                      reviewer_member_id=principal.subject_id)


@route(bp, "/reviews/<int:application_id>/reject", method="POST", auth="member", body=DecisionIn,
       response=DecisionOut, errors=("application_not_found", "invalid_agent_input", "not_your_review"))
def reject(principal: Principal, application_id: int, body: DecisionIn) -> dict[str, Any]:
    """Reject a downline's application, with a reason."""
    return channel.decide_application(tenant_id=principal.tenant_id, application_id=application_id, approve=False,
                                      reason=body.reason, actor=f"member:{principal.subject_id}", now=utcnow(),
                                      reviewer_member_id=principal.subject_id)


@route(bp, "/me", auth="member", response=AgentMeOut)
def me(principal: Principal) -> dict[str, Any]:
    """My authorization, cloud stock and certificates."""
    now = utcnow()
    auth = agents.find_authorization(tenant_id=principal.tenant_id, member_id=principal.subject_id)
    certs = agents.certificates_of(tenant_id=principal.tenant_id, member_id=principal.subject_id)
    return AgentMeOut(authorization=agents.authorization_view(auth, now=now) if auth else None,
                      stock=_stock(principal.tenant_id, principal.subject_id),
                      certificates=[agents.certificate_view(c) for c in certs])


def _stock(tenant_id: int, member_id: int) -> list[dict[str, int]]:
    return [{"sku_id": s, "pieces": n} for s, n in warehouse.stock_of(tenant_id=tenant_id, member_id=member_id).items()]


@route(bp, "/stock", auth="member", response=Items[StockLine])
def stock(principal: Principal) -> dict[str, Any]:
    """My cloud stock: pieces per SKU."""
    return Items[StockLine](items=_stock(principal.tenant_id, principal.subject_id))


@route(bp, "/restocks", method="POST", auth="member", body=RestockIn, status=201, response=RestockPlacedOut,
       errors=("authorization_expired", "authorization_inactive", "insufficient_balance", "insufficient_pieces",
               "no_supplying_upline",
               "not_an_agent", "product_not_authorized", "restock_limit_exceeded"))
def restock(principal: Principal, body: RestockIn) -> dict[str, Any]:
    """Restock from my upline or the platform at my level's price; pay the order with
    WeChat Pay (/mp/shop/orders/<order_id>/prepay) or stored value (/restocks/<id>/pay-stored),
    or with `"pay": "stored"` from stored value at once (409 insufficient_balance places nothing)."""
    place = channel.restock_with_stored_value if body.pay == "stored" else channel.place_restock
    r, order = place(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                     items=[(i.sku_id, i.quantity) for i in body.items], source=body.source, now=utcnow())
    return RestockPlacedOut(**warehouse.restock_view(r), order_no=order.order_no, payable_fen=order.payable_fen)


@route(bp, "/restocks", auth="member", query=PageQuery, response=Page[RestockOut])
def my_restocks(principal: Principal, query: PageQuery) -> dict[str, Any]:
    """Restocks I bought or supplied, newest first."""
    rows = warehouse.list_restocks(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                   before_id=query.before_id, limit=query.limit)
    return page_of(rows, warehouse.restock_view, query.limit)


@route(bp, "/restocks/<int:restock_id>", auth="member", response=RestockOut, errors=("restock_not_found",))
def my_restock(principal: Principal, restock_id: int) -> dict[str, Any]:
    """One restock of mine."""
    return warehouse.restock_view(warehouse.get_restock(tenant_id=principal.tenant_id, restock_id=restock_id,
                                                        member_id=principal.subject_id))


@route(bp, "/restocks/<int:restock_id>/pay-stored", method="POST", auth="member", response=RestockOut,
       errors=("restock_not_found", "restock_state_conflict"))
def pay_stored(principal: Principal, restock_id: int) -> dict[str, Any]:
    """Pay a restock from my stored value."""
    r = channel.pay_restock_with_stored_value(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                              restock_id=restock_id, now=utcnow())
    return warehouse.restock_view(r)


@route(bp, "/transfers", method="POST", auth="member", body=TransferIn, status=201, response=TransferOut,
       errors=("authorization_expired", "authorization_inactive", "insufficient_pieces", "not_a_downline",
               "not_an_agent", "product_not_authorized", "sku_not_found"))
def transfer(principal: Principal, body: TransferIn) -> dict[str, Any]:
    """Move pieces to an agent of my team (confirmed by them if the brand wants it)."""
    return warehouse.transfer_view(channel.transfer(
        tenant_id=principal.tenant_id, from_id=principal.subject_id, to_id=body.to_member_id, sku_id=body.sku_id,
        pieces=body.pieces, client_token=body.client_token, note=body.note, now=utcnow()))


@route(bp, "/transfers", auth="member", query=TransferPage, response=Items[TransferOut])
def my_transfers(principal: Principal, query: TransferPage) -> dict[str, Any]:
    """Transfers I sent or received."""
    rows = warehouse.list_transfers(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                                    status=query.status, limit=query.limit)
    return Items[TransferOut](items=[warehouse.transfer_view(t) for t in rows])


@route(bp, "/transfers/<int:transfer_id>/accept", method="POST", auth="member", response=TransferOut,
       errors=("transfer_not_found",))
def accept_transfer(principal: Principal, transfer_id: int) -> dict[str, Any]:
    """Confirm a transfer to me: the pieces enter my cloud stock."""
    return warehouse.transfer_view(warehouse.decide_transfer(
        tenant_id=principal.tenant_id, transfer_id=transfer_id, member_id=principal.subject_id, accept=True,
        now=utcnow()))


@route(bp, "/transfers/<int:transfer_id>/reject", method="POST", auth="member", response=TransferOut,
       errors=("transfer_not_found",))
def reject_transfer(principal: Principal, transfer_id: int) -> dict[str, Any]:
    """Refuse a transfer to me: the pieces go back to the sender."""
    return warehouse.transfer_view(warehouse.decide_transfer(
        tenant_id=principal.tenant_id, transfer_id=transfer_id, member_id=principal.subject_id, accept=False,
        now=utcnow()))


@route(bp, "/pickups", method="POST", auth="member", body=PickupIn, status=201, response=PickupOut,
       errors=("authorization_expired", "authorization_inactive", "insufficient_balance", "insufficient_pieces",
               "not_an_agent", "sku_not_found"))
def pickup(principal: Principal, body: PickupIn) -> dict[str, Any]:
    """Ship some of my pieces to an address (freight from my stored value)."""
    p = channel.request_pickup(tenant_id=principal.tenant_id, member_id=principal.subject_id, sku_id=body.sku_id,
                               pieces=body.pieces, client_token=body.client_token,
                               receiver=body.receiver.model_dump(), now=utcnow())
    return warehouse.pickup_view(p)


@route(bp, "/pickups", auth="member", query=PageQuery, response=Items[PickupOut])
def my_pickups(principal: Principal, query: PageQuery) -> dict[str, Any]:
    """My pickups with their tracking."""
    rows = warehouse.list_pickups(tenant_id=principal.tenant_id, member_id=principal.subject_id, limit=query.limit)
    return Items[PickupOut](items=[warehouse.pickup_view(p) for p in rows])


@route(bp, "/certificates/<int:certificate_id>/image", auth="member", raw=True, content="image/png",
       errors=("certificate_not_found",))
def certificate_image(principal: Principal, certificate_id: int) -> Response:
    """One of my certificates as a PNG (the brand's template, with the verification QR)."""
    png = certificates.render_certificate(tenant_id=principal.tenant_id, certificate_id=certificate_id,
                                          member_id=principal.subject_id)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=300"})
