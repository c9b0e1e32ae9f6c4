"""The live poster (直播海报): a room as a poster subject. Its code opens the room with
the member's invite code and the room id in the scene, so whoever scans it enters the
room bound to the member (source live_room)."""

from __future__ import annotations

from backend.live import service as live
from backend.posters.subjects import PosterSubject

STATUS_TEXT = {"upcoming": "即将开播", "live": "正在直播", "ended": "直播已结束", "replay": "精彩回放"}


def load_live_subject(*, tenant_id: int, subject_id: int) -> PosterSubject:
    """A room's title, host, start time, cover and its lowest live price."""
    room = live.get_room(tenant_id=tenant_id, room_id=subject_id)
    products = live.room_products(tenant_id=tenant_id, room_ids=[room.id])[room.id]
    price = min((p.live_price_fen for p in products), default=None)
    start = room.scheduled_at.astimezone(live.CHINA_TZ)
    return PosterSubject(
        id=str(room.id), version=f"{room.updated_at.timestamp():.0f}.{price}.{room.status}",
        texts={"title": room.title, "intro": f"主播 {room.host_name}" if room.host_name else STATUS_TEXT[room.status],
               "start_time": f"{start:%m月%d日 %H:%M}"},
        picture_url=room.cover_url or None, price_fen=price, scene={"live_room_id": room.id})


POSTER_SUBJECTS = {"live": load_live_subject}
