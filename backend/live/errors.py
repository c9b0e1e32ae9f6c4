"""Live-room errors: stable codes, Chinese messages."""

from __future__ import annotations

from backend.errors import Conflict, DomainError, NotFound


class LiveRoomNotFound(NotFound):
    code = "live_room_not_found"
    message = "直播间不存在"


class InvalidLiveRoom(DomainError):
    code = "invalid_live_room"
    message = "直播间信息有误"


class InvalidStreamUrl(DomainError):
    code = "invalid_stream_url"
    message = "直播流地址不可用"


class LiveProductNotInRoom(Conflict):
    code = "live_product_not_in_room"
    message = "该商品不在本直播间"


class LiveRoomClosed(Conflict):
    code = "live_room_closed"
    message = "直播间未开播或已结束，暂不能下单"
