"""Where the gateway keeps WeChat access tokens: Redis, shared by every worker (a token
fetched by one is used by all, and WeChat limits how often a token may be fetched).

Redis down: each process goes on with its own copy (kept beside every write, with the
token's time-to-live), so calls to WeChat keep working; at worst each worker fetches a
token of its own while the outage lasts (WeChat keeps the previous one valid for five
minutes after a refresh).
"""

from __future__ import annotations

import time
from typing import Any

from wechatpy.session import SessionStorage
from wechatpy.session.redisstorage import RedisStorage

from backend.extensions import REDIS_DOWN, redis_degraded


class TokenStore(SessionStorage):  # type: ignore[misc]
    def __init__(self, redis: Any, *, prefix: str) -> None:
        self.shared = RedisStorage(redis, prefix=prefix)
        self.local: dict[str, tuple[Any, float]] = {}

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self.shared.get(key, default)
        except REDIS_DOWN as exc:
            redis_degraded("WeChat access tokens kept per process", exc)
        value, expires = self.local.get(key, (None, 0.0))
        return value if value is not None and expires > time.monotonic() else default

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        if value is None:
            return
        self.local[key] = (value, time.monotonic() + (ttl if ttl else 7200))
        try:
            self.shared.set(key, value, ttl)
        except REDIS_DOWN as exc:
            redis_degraded("WeChat access tokens kept per process", exc)

    def delete(self, key: str) -> None:
        self.local.pop(key, None)
        try:
            self.shared.delete(key)
        except REDIS_DOWN as exc:
            redis_degraded("WeChat access tokens kept per process", exc)
