"""Back-office live rooms: create (pulled stream, checked; or a WeChat mini-program live
room), edit and change status, products at live prices, the product explained now,
sync from WeChat, and the room's figures. Writes are boss/operator, audited."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from flask import Blueprint
from pydantic import AwareDatetime, Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.flows import live_selling
from backend.live import service as live
from backend.live.types import RoomStatus, StreamKind
from miniprogram_api.http import Body, Items, Page, Query, page_of, route
from miniprogram_api.schemas.more import LiveRoomOut, LiveStatsOut

bp = Blueprint("admin_live", __name__, url_prefix="/api/v1/admin/live")

Id = Annotated[int, Field(strict=True, ge=1, le=2**53)]


class RoomIn(Body):
    title: str = Field(min_length=1, max_length=60)
    scheduled_at: AwareDatetime
    stream_kind: StreamKind = StreamKind.PULL
    stream_url: str | None = Field(None, max_length=1000)
    wx_room_id: int | None = Field(None, strict=True, ge=1, le=2**53)
    cover_url: str = Field("", max_length=512)
    host_name: str = Field("", max_length=40)


class RoomPatch(Body):
    title: str | None = Field(None, min_length=1, max_length=60)
    scheduled_at: AwareDatetime | None = None
    stream_url: str | None = Field(None, max_length=1000)
    replay_url: str | None = Field(None, max_length=1000)
    cover_url: str | None = Field(None, max_length=512)
    host_name: str | None = Field(None, max_length=40)
    status: RoomStatus | None = None


class RoomItemIn(Body):
    sku_id: Id
    live_price_fen: int = Field(strict=True, ge=1, le=10**10)


class ProductsIn(Body):
    items: list[RoomItemIn] = Field(max_length=live.MAX_PRODUCTS)


class ExplainingIn(Body):
    product_id: Id | None


class RoomPage(Query):
    status: RoomStatus | None = None
    before_id: int | None = Field(None, ge=1)
    limit: int = Field(20, ge=1, le=100)


@route(bp, "/rooms", auth="staff", query=RoomPage, response=Page[LiveRoomOut])
def rooms(principal: Principal, query: RoomPage) -> dict[str, Any]:
    """The brand's live rooms, newest first."""
    rows = live.list_rooms(tenant_id=principal.tenant_id, status=query.status, before_id=query.before_id,
                           limit=query.limit)
    return page_of(rows, lambda r: live.room_view(r, []), query.limit)


@route(bp, "/rooms", method="POST", auth="staff", body=RoomIn, status=201,
       response=LiveRoomOut, errors=("invalid_live_room", "invalid_stream_url"))
def create_room(principal: Principal, body: RoomIn) -> dict[str, Any]:
    """Create a room: a pulled stream (Douyin, Kuaishou, YY, MP4, HLS; public hosts only)
    or a WeChat mini-program live room."""
    room = live.create_room(tenant_id=principal.tenant_id, actor=principal.actor, spec=live.RoomSpec(
        title=body.title, scheduled_at=body.scheduled_at.astimezone(UTC), stream_kind=body.stream_kind,
        stream_url=body.stream_url, wx_room_id=body.wx_room_id, cover_url=body.cover_url, host_name=body.host_name))
    return live.room_view(room, [])


@route(bp, "/rooms/<int:room_id>", auth="staff", response=LiveRoomOut, errors=("live_room_not_found",))
def room(principal: Principal, room_id: int) -> dict[str, Any]:
    """One room with its products."""
    return live.room_page(tenant_id=principal.tenant_id, room_id=room_id)


@route(bp, "/rooms/<int:room_id>", method="PATCH", auth="staff", body=RoomPatch,
       response=LiveRoomOut, errors=("invalid_stream_url", "live_room_not_found"))
def update_room(principal: Principal, room_id: int, body: RoomPatch) -> dict[str, Any]:
    """Change a room: texts, schedule, stream, replay, status."""
    changes = body.model_dump(exclude_unset=True)
    if changes.get("scheduled_at") is not None:
        changes["scheduled_at"] = changes["scheduled_at"].astimezone(UTC)
    room = live.update_room(tenant_id=principal.tenant_id, room_id=room_id, actor=principal.actor, now=utcnow(),
                            **changes)
    return live.room_view(room, [])


@route(bp, "/rooms/<int:room_id>/products", method="PUT", auth="staff", body=ProductsIn,
       response=LiveRoomOut, errors=("live_room_not_found",))
def set_products(principal: Principal, room_id: int, body: ProductsIn) -> dict[str, Any]:
    """The room's products in order, at their live prices."""
    live.set_products(tenant_id=principal.tenant_id, room_id=room_id, actor=principal.actor,
                      items=[live.RoomItem(sku_id=i.sku_id, live_price_fen=i.live_price_fen) for i in body.items])
    return live.room_page(tenant_id=principal.tenant_id, room_id=room_id)


@route(bp, "/rooms/<int:room_id>/explaining", method="POST", auth="staff", body=ExplainingIn,
       response=LiveRoomOut, errors=("live_room_not_found",))
def explaining(principal: Principal, room_id: int, body: ExplainingIn) -> dict[str, Any]:
    """The product being explained now (讲解中), or none."""
    live.set_explaining(tenant_id=principal.tenant_id, room_id=room_id, product_id=body.product_id,
                        actor=principal.actor)
    return live.room_page(tenant_id=principal.tenant_id, room_id=room_id)


@route(bp, "/wechat-sync", method="POST", auth="staff", response=Items[LiveRoomOut])
def wechat_sync(principal: Principal) -> dict[str, Any]:
    """Bring the mini-program live rooms over from WeChat."""
    rows = live.sync_wechat_rooms(tenant_id=principal.tenant_id, actor=principal.actor, now=utcnow())
    return Items[LiveRoomOut](items=[live.room_view(r, []) for r in rows])


@route(bp, "/rooms/<int:room_id>/stats", auth="staff", response=LiveStatsOut,
       errors=("live_room_not_found",))
def stats(principal: Principal, room_id: int) -> dict[str, Any]:
    """Viewers, new bindings, orders, GMV and rewards of the room, and per sharer."""
    return live_selling.room_stats(tenant_id=principal.tenant_id, room_id=room_id)
