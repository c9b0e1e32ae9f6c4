"""Rate limits: named limits counted in Redis through the `limits` library.

Every limit has a name, a default and a scope the caller supplies as key parts (a
client address, a (tenant, username) pair, a principal). Settings may override any
default (RATE_LIMITS="staff_login_user=5/15minute;…"); tests keep the real limiter
and lower or raise a limit where they need to, never switch it off.

Counters live in the app's Redis (fakeredis in-process when embedded), so every web
process shares them; a full Redis loses the counters, never money.

Redis down: the log-in limits (FAIL_CLOSED) refuse with 429 and a Chinese message,
because a log-in nobody counts is a password guess nobody stops; every other limit lets
the request through and logs a warning (docs/operations.md, "Redis down").
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.storage import RedisClusterStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

from backend.errors import DomainError
from backend.extensions import CLUSTER_SCHEME, REDIS_DOWN, get_redis, redis_degraded, redis_holder

# name -> (default limit, what it protects). The scope is in the name's suffix.
DEFAULTS: dict[str, tuple[str, str]] = {
    "staff_login_user": ("5/15minute", "failed back-office log-ins per (tenant, username)"),
    "staff_login_ip": ("30/minute", "back-office log-in attempts per client address"),
    "mp_login_ip": ("60/minute", "mini-program login codes per client address"),
    "withdraw_member": ("10/hour", "withdrawal requests per member"),
    "poster_member": ("30/minute", "poster renders per member"),
    "poster_staff": ("60/minute", "poster renders and previews per staff account"),
    "simulate_staff": ("10/minute", "reward-plan simulations per staff account"),
    "platform_ip": ("120/minute", "platform API calls per client address"),
    "platform_fail_ip": ("10/minute", "platform API calls with a wrong token per client address"),
}


# Limits that refuse when their counters cannot be read (the others let requests through).
FAIL_CLOSED = frozenset({"staff_login_user", "staff_login_ip", "mp_login_ip"})
UNCOUNTED_LOGIN_MESSAGE = "登录保护暂时不可用，请稍后再试"
UNCOUNTED_RETRY_AFTER_SECONDS = 30


class RateLimited(DomainError):
    """Too many requests; `retry_after` seconds until the next is accepted (429)."""

    code = "rate_limited"
    http_status = 429
    message = "操作过于频繁，请稍后再试"

    def __init__(self, message: str | None = None, *, retry_after: int = 1, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = max(1, int(retry_after))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def check_limit_strings(overrides: dict[str, str]) -> None:
    """Raise ValueError on an unknown name or a limit `limits` cannot parse."""
    for name, value in overrides.items():
        if name not in DEFAULTS:
            raise ValueError(f"unknown limit {name!r} (known: {', '.join(sorted(DEFAULTS))})")
        try:
            parse(value)
        except ValueError as exc:
            raise ValueError(f"{name}={value!r}: {exc}") from None


@dataclass
class Limiter:
    """The app's limiter: the Redis counters plus the configured limits."""

    strategy: MovingWindowRateLimiter
    items: dict[str, RateLimitItem]

    def _item(self, name: str) -> RateLimitItem:
        return self.items[name]

    def _uncounted(self, name: str, exc: BaseException) -> None:
        """Redis did not answer: refuse a log-in, let anything else through."""
        if name in FAIL_CLOSED:
            redis_degraded("log-ins refused (their limits fail closed)", exc)
            raise RateLimited(UNCOUNTED_LOGIN_MESSAGE, retry_after=UNCOUNTED_RETRY_AFTER_SECONDS) from None
        redis_degraded(f"limit {name} not counted (fails open)", exc)

    def _retry_after(self, name: str, key: tuple[str, ...]) -> int:
        stats = self.strategy.get_window_stats(self._item(name), name, *key)
        return math.ceil(max(1.0, stats.reset_time - time.time()))

    def hit(self, name: str, *key: object) -> None:
        """Count one use; RateLimited (with Retry-After) when the limit is spent."""
        parts = tuple(str(k) for k in key)
        try:
            if self.strategy.hit(self._item(name), name, *parts):
                return
            retry = self._retry_after(name, parts)
        except REDIS_DOWN as exc:
            return self._uncounted(name, exc)
        raise RateLimited(retry_after=retry)

    def check(self, name: str, *key: object) -> None:
        """RateLimited when the limit is already spent; counts nothing."""
        parts = tuple(str(k) for k in key)
        try:
            if self.strategy.test(self._item(name), name, *parts):
                return
            retry = self._retry_after(name, parts)
        except REDIS_DOWN as exc:
            return self._uncounted(name, exc)
        raise RateLimited(retry_after=retry)

    def spend(self, name: str, *key: object) -> bool:
        """Count one use; True when this use spent the last of the limit (a lockout
        begins now), False otherwise."""
        parts = tuple(str(k) for k in key)
        try:
            ok = self.strategy.hit(self._item(name), name, *parts)
            return not ok or self.strategy.get_window_stats(self._item(name), name, *parts).remaining == 0
        except REDIS_DOWN as exc:
            self._uncounted(name, exc)
            return False

    def retry_after(self, name: str, *key: object) -> int:
        try:
            return self._retry_after(name, tuple(str(k) for k in key))
        except REDIS_DOWN:
            return UNCOUNTED_RETRY_AFTER_SECONDS


def build_limiter(redis_client: Any, overrides: dict[str, str]) -> Limiter:
    """A limiter over this Redis client (real or fakeredis: the same connection pool)."""
    check_limit_strings(overrides)
    storage: Any
    if redis_holder.url and redis_holder.url.startswith(CLUSTER_SCHEME):
        # A cluster has a pool per node, not one: `limits` opens its own cluster client.
        storage = RedisClusterStorage(redis_holder.url, key_prefix="siyu:rl")
    else:
        storage = RedisStorage("redis://", connection_pool=redis_client.connection_pool,
                               key_prefix="siyu:rl")
    items = {name: parse(overrides.get(name, default)) for name, (default, _) in DEFAULTS.items()}
    return Limiter(MovingWindowRateLimiter(storage), items)


def limiter() -> Limiter:
    """The running app's limiter (built on first use)."""
    from flask import current_app

    lim = current_app.extensions.get("siyu_limiter")
    if lim is None:
        lim = build_limiter(get_redis(), current_app.config["SIYU_SETTINGS"].rate_limits)
        current_app.extensions["siyu_limiter"] = lim
    return lim  # type: ignore[no-any-return]


def set_limit(name: str, value: str) -> None:
    """Change one limit of the running app (tests lower a limit to reach it quickly)."""
    check_limit_strings({name: value})
    limiter().items[name] = parse(value)
