"""Live-room verbs: rooms (pulled stream or WeChat mini-program live room), their
products at live prices and the one being explained, viewers entering through shares,
orders attributed to the room and the sharer, and the room's own figures.

Keyword-only functions that never commit. A pulled stream's address is checked
(streams.py) and never fetched by the server.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select

from backend.audit.service import record_audit
from backend.bulk import insert_ignore
from backend.catalog import service as catalog
from backend.db import newest_first
from backend.errors import DomainError
from backend.extensions import db
from backend.live.errors import (
    InvalidLiveRoom,
    InvalidStreamUrl,
    LiveProductNotInRoom,
    LiveRoomClosed,
    LiveRoomNotFound,
)
from backend.live.models import LiveOrder, LiveRoom, LiveRoomProduct, LiveViewer
from backend.live.streams import StreamInfo, StreamRefused, check_stream_url, literal_ip, parse_stream_url
from backend.live.types import RoomStatus, StreamKind
from backend.members import service as members
from backend.members.scene import parse_scene
from backend.members.types import BindOutcome
from backend.money import yuan
from backend.types import CHINA_TZ  # noqa: F401  (re-exported)
from backend.wechat.service import gateway, mini_program_credentials

MAX_PRODUCTS = 50
RESOLVE_TIMEOUT_SECONDS = 2.0
# WeChat's live_status → ours (104 banned, 105 paused, 106 abnormal count as ended or live).
WECHAT_STATUS = {101: RoomStatus.LIVE, 102: RoomStatus.UPCOMING, 103: RoomStatus.ENDED, 104: RoomStatus.ENDED,
                 105: RoomStatus.LIVE, 106: RoomStatus.LIVE, 107: RoomStatus.ENDED}


_RESOLVER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="live-dns")


def resolve_host(host: str) -> list[str]:
    """The addresses a host name resolves to ([] when it does not, or not within
    RESOLVE_TIMEOUT_SECONDS: getaddrinfo has no timeout of its own, so it runs on a
    small pool and is waited for only that long)."""
    future = _RESOLVER.submit(socket.getaddrinfo, host, None)
    try:
        return sorted({str(info[4][0]) for info in future.result(timeout=RESOLVE_TIMEOUT_SECONDS)})
    except (OSError, UnicodeError, FutureTimeout):
        return []


def check_stream(url: str) -> StreamInfo:
    """A pulled stream's address, checked (scheme, public host), or InvalidStreamUrl."""
    try:
        _, host = parse_stream_url(url)
        return check_stream_url(url, [] if literal_ip(host) else resolve_host(host))
    except StreamRefused as exc:
        raise InvalidStreamUrl(str(exc)) from None


# ------------------------------------------------------------------ rooms


@dataclass(frozen=True)
class RoomSpec:
    title: str
    scheduled_at: datetime
    stream_kind: str = StreamKind.PULL
    stream_url: str | None = None
    cover_url: str = ""
    host_name: str = ""
    wx_room_id: int | None = None


def _check_cover(url: str) -> None:
    if url and not url.startswith("https://"):
        raise InvalidLiveRoom(details=[{"field": "cover_url", "message": "封面须为 https 地址"}])


def create_room(*, tenant_id: int, spec: RoomSpec, actor: str) -> LiveRoom:
    """A room with a pulled stream (checked) or a WeChat live room id (audited)."""
    if not 1 <= len(spec.title.strip()) <= 60:
        raise InvalidLiveRoom(details=[{"field": "title", "message": "标题须为 1–60 个字符"}])
    _check_cover(spec.cover_url)
    info = None
    if spec.stream_kind == StreamKind.PULL:
        info = check_stream(spec.stream_url or "")
    elif spec.stream_kind != StreamKind.WECHAT or spec.wx_room_id is None:
        raise InvalidLiveRoom(details=[{"field": "stream_kind", "message": "须为 pull（拉流地址）或 wechat（小程序直播间号）"}])
    room = LiveRoom(tenant_id=tenant_id, title=spec.title.strip(), cover_url=spec.cover_url,
                    host_name=spec.host_name.strip()[:40], scheduled_at=spec.scheduled_at, status=RoomStatus.UPCOMING,
                    stream_kind=spec.stream_kind, stream_url=info.url if info else None,
                    stream_platform=info.platform if info else None, stream_format=info.format if info else None,
                    wx_room_id=spec.wx_room_id if spec.stream_kind == StreamKind.WECHAT else None)
    db.session.add(room)
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="live.room_create", target_type="live_room",
                 target_id=room.id, before=None, after=room_view(room, []))
    return room


def get_room(*, tenant_id: int, room_id: int) -> LiveRoom:
    row = db.session.scalar(select(LiveRoom).where(LiveRoom.tenant_id == tenant_id, LiveRoom.id == room_id))
    if row is None:
        raise LiveRoomNotFound()
    return row


def update_room(*, tenant_id: int, room_id: int, actor: str, now: datetime, title: str | None = None,
                cover_url: str | None = None,
                host_name: str | None = None, scheduled_at: datetime | None = None, stream_url: str | None = None,
                status: str | None = None, replay_url: str | None = None) -> LiveRoom:
    """Change a room: texts, schedule, stream, status (upcoming/live/ended/replay) (audited)."""
    room = get_room(tenant_id=tenant_id, room_id=room_id)
    before = room_view(room, [])
    if title is not None:
        if not 1 <= len(title.strip()) <= 60:
            raise InvalidLiveRoom(details=[{"field": "title", "message": "标题须为 1–60 个字符"}])
        room.title = title.strip()
    if cover_url is not None:
        _check_cover(cover_url)
        room.cover_url = cover_url
    if host_name is not None:
        room.host_name = host_name.strip()[:40]
    if scheduled_at is not None:
        room.scheduled_at = scheduled_at
    if stream_url is not None:
        if room.stream_kind != StreamKind.PULL:
            raise InvalidLiveRoom("小程序直播间的流由微信提供")
        info = check_stream(stream_url)
        room.stream_url, room.stream_platform, room.stream_format = info.url, info.platform, info.format
    if replay_url is not None:
        room.replay_url = check_stream(replay_url).url
    if status is not None:
        if status not in tuple(RoomStatus):
            raise InvalidLiveRoom(details=[{"field": "status", "message": "须为 upcoming、live、ended 或 replay"}])
        if status == RoomStatus.REPLAY and not room.replay_url:
            raise InvalidLiveRoom("请先设置回放地址")
        room.status = status
        if status in (RoomStatus.ENDED, RoomStatus.REPLAY) and room.ends_at is None:
            room.ends_at = now
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="live.room_update", target_type="live_room",
                 target_id=room.id, before=before, after=room_view(room, []))
    return room


def list_rooms(*, tenant_id: int, status: str | None = None, before_id: int | None = None,
               limit: int = 20) -> list[LiveRoom]:
    return newest_first(LiveRoom, tenant_id=tenant_id, before_id=before_id, limit=limit,
                        where={LiveRoom.status: status})


def room_products(*, tenant_id: int, room_ids: Sequence[int]) -> dict[int, list[LiveRoomProduct]]:
    out: dict[int, list[LiveRoomProduct]] = {r: [] for r in room_ids}
    if room_ids:
        for p in db.session.scalars(select(LiveRoomProduct).where(
                LiveRoomProduct.tenant_id == tenant_id, LiveRoomProduct.room_id.in_(room_ids))
                .order_by(LiveRoomProduct.position, LiveRoomProduct.id)):
            out[p.room_id].append(p)
    return out


@dataclass(frozen=True)
class RoomItem:
    sku_id: int
    live_price_fen: int


def set_products(*, tenant_id: int, room_id: int, items: Sequence[RoomItem], actor: str) -> list[LiveRoomProduct]:
    """The room's products, in this order, at their live prices (audited)."""
    room = get_room(tenant_id=tenant_id, room_id=room_id)
    if len(items) > MAX_PRODUCTS or len({i.sku_id for i in items}) != len(items):
        raise InvalidLiveRoom(details=[{"field": "items", "message": f"最多 {MAX_PRODUCTS} 个规格，且不能重复"}])
    rows = []
    for pos, item in enumerate(items):
        sku = catalog.get_sku(tenant_id=tenant_id, sku_id=item.sku_id)
        if not 1 <= item.live_price_fen <= sku.price_fen:
            raise InvalidLiveRoom(details=[{"field": f"items[{pos}].live_price_fen",
                                            "message": f"直播价须为 1 分到原价 {yuan(sku.price_fen)} 元之间"}])
        rows.append(LiveRoomProduct(tenant_id=tenant_id, room_id=room.id, product_id=sku.product_id, sku_id=sku.id,
                                    live_price_fen=item.live_price_fen, position=pos))
    for old in room_products(tenant_id=tenant_id, room_ids=[room.id])[room.id]:
        db.session.delete(old)
    db.session.flush()
    db.session.add_all(rows)
    if room.explaining_product_id not in {r.product_id for r in rows}:
        room.explaining_product_id = None
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="live.room_products", target_type="live_room",
                 target_id=room.id, before=None,
                 after={"items": [{"sku_id": r.sku_id, "live_price_fen": r.live_price_fen} for r in rows]})
    return rows


def set_explaining(*, tenant_id: int, room_id: int, product_id: int | None, actor: str) -> LiveRoom:
    """The product being explained now (讲解中), one of the room's, or none (audited)."""
    room = get_room(tenant_id=tenant_id, room_id=room_id)
    if product_id is not None and product_id not in {
            p.product_id for p in room_products(tenant_id=tenant_id, room_ids=[room.id])[room.id]}:
        raise LiveProductNotInRoom()
    before, room.explaining_product_id = room.explaining_product_id, product_id
    record_audit(tenant_id=tenant_id, actor=actor, action="live.explaining", target_type="live_room",
                 target_id=room.id, before={"product_id": before}, after={"product_id": product_id})
    return room


def live_prices(*, tenant_id: int, room_id: int, sku_ids: Sequence[int]) -> dict[int, int]:
    """The live price of each SKU bought in the room: LiveRoomClosed unless the room is
    live (or showing its replay), LiveProductNotInRoom for a SKU it does not sell."""
    room = get_room(tenant_id=tenant_id, room_id=room_id)
    if room.status not in (RoomStatus.LIVE, RoomStatus.REPLAY):
        raise LiveRoomClosed()
    prices = {p.sku_id: p.live_price_fen for p in room_products(tenant_id=tenant_id, room_ids=[room.id])[room.id]}
    missing = [s for s in sku_ids if s not in prices]
    if missing:
        raise LiveProductNotInRoom(details={"sku_ids": missing})
    return prices


def room_view(room: LiveRoom, products: Sequence[LiveRoomProduct], *, names: dict[int, str] | None = None
              ) -> dict[str, Any]:
    return {
        "id": room.id, "title": room.title, "cover_url": room.cover_url, "host_name": room.host_name,
        "scheduled_at": room.scheduled_at.isoformat(), "status": room.status,
        "stream": {"kind": room.stream_kind, "url": room.stream_url, "platform": room.stream_platform,
                   "format": room.stream_format, "wx_room_id": room.wx_room_id,
                   "replay_url": room.replay_url},
        "explaining_product_id": room.explaining_product_id,
        "products": [{"product_id": p.product_id, "sku_id": p.sku_id, "name": (names or {}).get(p.product_id, ""),
                      "live_price_fen": p.live_price_fen, "live_price": yuan(p.live_price_fen),
                      "explaining": p.product_id == room.explaining_product_id} for p in products]}


def room_page(*, tenant_id: int, room_id: int) -> dict[str, Any]:
    """A room as viewers see it: stream, products at live prices, the one explained now."""
    room = get_room(tenant_id=tenant_id, room_id=room_id)
    products = room_products(tenant_id=tenant_id, room_ids=[room.id])[room.id]
    names = {p.product_id: catalog.get_product(tenant_id=tenant_id, product_id=p.product_id).name for p in products}
    return room_view(room, products, names=names)


# ------------------------------------------------------------------ WeChat mini-program live rooms


def sync_wechat_rooms(*, tenant_id: int, actor: str, now: datetime) -> list[LiveRoom]:
    """Bring the tenant's mini-program live rooms (小程序直播) over from WeChat: new ones
    created, known ones' title, anchor, schedule and status updated, an ended room with a
    recording shown as its replay (audited)."""
    creds = mini_program_credentials(tenant_id=tenant_id)
    api = gateway().mini_program(creds)
    found, start = [], 0
    while True:
        page, total = api.get_live_rooms(start=start, limit=100)
        found.extend(page)
        start += len(page)
        if not page or start >= total:
            break
    known = {r.wx_room_id: r for r in db.session.scalars(select(LiveRoom).where(
        LiveRoom.tenant_id == tenant_id, LiveRoom.wx_room_id.in_([f.room_id for f in found])))} if found else {}
    out = []
    for info in found:
        room = known.get(info.room_id)
        if room is None:
            room = LiveRoom(tenant_id=tenant_id, stream_kind=StreamKind.WECHAT, wx_room_id=info.room_id, created_at=now)
            db.session.add(room)
        room.title = info.name[:60] or f"直播间 {info.room_id}"
        room.host_name = info.anchor_name[:40]
        room.cover_url = info.cover_img if info.cover_img.startswith("https://") else ""
        room.scheduled_at = datetime.fromtimestamp(info.start_time, UTC)
        room.ends_at = datetime.fromtimestamp(info.end_time, UTC) if info.end_time else None
        room.status = WECHAT_STATUS.get(info.live_status, RoomStatus.UPCOMING)
        if room.status == RoomStatus.ENDED and info.live_status == 103:
            # WeChat's own CDN address of the recording: trusted as WeChat gives it.
            replays = api.get_live_replay_urls(room_id=info.room_id)
            if replays:
                room.replay_url, room.status = replays[-1][:1000], RoomStatus.REPLAY
        out.append(room)
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="live.wechat_sync", target_type="tenant",
                 target_id=tenant_id, before=None, after={"rooms": [r.wx_room_id for r in out]})
    return out


# ------------------------------------------------------------------ viewers and orders


@dataclass(frozen=True)
class Entry:
    room: LiveRoom
    bind_status: str | None  # bound | pending | rebound | refused (a binding the rules did not allow) | None
    sharer_id: int | None


def enter_room(*, tenant_id: int, member_id: int, room_id: int, now: datetime, scene: str | None = None) -> Entry:
    """A member opens a room, perhaps through a share: the share binds them to the sharer
    exactly as any share does (source live_room); the viewer is recorded once."""
    room = get_room(tenant_id=tenant_id, room_id=room_id)
    status: BindOutcome | None = None
    sharer: int | None = None
    if scene:
        parsed = parse_scene(scene)
        if parsed.live_room_id not in (None, room.id):
            raise InvalidLiveRoom("分享参数与直播间不符")
        sharer = members.resolve_scene_parent(tenant_id=tenant_id, scene=scene)
        try:
            status = members.bind_by_scene(tenant_id=tenant_id, member_id=member_id, scene=scene, source="live_room",
                                           now=now).status
        except DomainError:
            status = BindOutcome.REFUSED
        if sharer == member_id:
            sharer = None
    db.session.execute(insert_ignore(LiveViewer.__table__).values(
        tenant_id=tenant_id, room_id=room.id, member_id=member_id, sharer_id=sharer, bound=status == BindOutcome.BOUND,
        first_seen_at=now))
    return Entry(room=room, bind_status=status, sharer_id=sharer)


def record_order(*, tenant_id: int, room_id: int, order_id: int, member_id: int, now: datetime) -> LiveOrder:
    """An order placed in the room, attributed to the room and the sharer who brought the buyer."""
    sharer = db.session.scalar(select(LiveViewer.sharer_id).where(
        LiveViewer.tenant_id == tenant_id, LiveViewer.room_id == room_id, LiveViewer.member_id == member_id))
    row = LiveOrder(tenant_id=tenant_id, room_id=room_id, order_id=order_id, member_id=member_id, sharer_id=sharer,
                    created_at=now)
    db.session.add(row)
    db.session.flush()
    return row


@dataclass(frozen=True)
class RoomAudience:
    viewers: int
    new_bindings: int
    order_ids: list[int]
    orders_by_sharer: dict[int, list[int]]


def audience(*, tenant_id: int, room_id: int) -> RoomAudience:
    """Who watched, whom the room's shares bound, and the orders placed in it."""
    get_room(tenant_id=tenant_id, room_id=room_id)
    viewers, bound = db.session.execute(select(func.count(), func.coalesce(func.sum(
        case((LiveViewer.bound.is_(True), 1), else_=0)), 0)).where(
        LiveViewer.tenant_id == tenant_id, LiveViewer.room_id == room_id)).one()
    rows = db.session.execute(select(LiveOrder.order_id, LiveOrder.sharer_id).where(
        LiveOrder.tenant_id == tenant_id, LiveOrder.room_id == room_id).order_by(LiveOrder.id)).all()
    by_sharer: dict[int, list[int]] = {}
    for order_id, sharer in rows:
        if sharer is not None:
            by_sharer.setdefault(sharer, []).append(order_id)
    return RoomAudience(viewers=int(viewers), new_bindings=int(bound), order_ids=[r[0] for r in rows],
                        orders_by_sharer=by_sharer)
