"""Live selling's public types: the values of a live room's status, shared by the
service, the edge's filters and WeChat's mini-program live sync (stored as these
plain strings)."""

from __future__ import annotations

from enum import StrEnum


class RoomStatus(StrEnum):
    UPCOMING = "upcoming"
    LIVE = "live"
    ENDED = "ended"
    REPLAY = "replay"  # ended, showing its recording; still sells at live prices


class StreamKind(StrEnum):
    PULL = "pull"  # a pull-stream address of the tenant's own streaming platform
    WECHAT = "wechat"  # a mini-program live room (WeChat streams it; synced by the job)
