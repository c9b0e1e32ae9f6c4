"""A demo live room: the demo tenant's WeChat mini-program live room, live now, with the
tea at a live price and being explained (no stream address to resolve offline)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.catalog.service import list_products, skus_of
from backend.db import utcnow
from backend.live import service as live
from backend.live.types import RoomStatus


def seed(tenant: Any) -> None:
    """Create the demo room with its products (inside the demo unit of work)."""
    room = live.create_room(tenant_id=tenant.id, actor="demo", spec=live.RoomSpec(
        title="明前龙井开采直播", scheduled_at=utcnow() - timedelta(minutes=10), stream_kind="wechat",
        wx_room_id=1, host_name="茶艺师小林"))
    items = []
    for p in list_products(tenant_id=tenant.id, on_shelf=True):
        if p.allowed_levels:
            continue
        sku = skus_of(tenant_id=tenant.id, product_ids=[p.id])[p.id][0]
        items.append((p.id, live.RoomItem(sku_id=sku.id, live_price_fen=sku.price_fen * 8 // 10)))
    live.set_products(tenant_id=tenant.id, room_id=room.id, items=[i for _, i in items], actor="demo")
    if items:
        live.set_explaining(tenant_id=tenant.id, room_id=room.id, product_id=items[0][0], actor="demo")
    live.update_room(tenant_id=tenant.id, room_id=room.id, status=RoomStatus.LIVE, actor="demo", now=utcnow())
