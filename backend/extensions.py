"""Extension singletons, bound to an app in create_app (Flask's init_app pattern)."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from redis.exceptions import RedisError

from backend.orm import Base

db = SQLAlchemy(model_class=Base)

log = logging.getLogger("siyu.redis")

# A real Redis that stops answering must cost a request about a second, not a hang:
# every call gives up after this long.
REDIS_TIMEOUT_SECONDS = 1.0
# redis-py's own default retries a failed call three times with a backoff of up to
# seconds: with Redis down, a refused connection then cost every Redis call about 4 s
# (measured), so a request making three calls hung for 12 s instead of degrading. One
# quick retry rides over a dropped pooled connection (a Redis restart) and gives up
# within tens of milliseconds.
def _redis_retry() -> Any:
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    return Retry(ExponentialBackoff(cap=0.05, base=0.01), 1)


# What a caller catches to degrade when Redis is down (docs/operations.md lists, per use,
# whether it fails open or closed).
REDIS_DOWN: tuple[type[BaseException], ...] = (RedisError, OSError)
# REDIS_URL=redis+cluster://host:port names a Redis Cluster (the scheme `limits` uses too).
CLUSTER_SCHEME = "redis+cluster://"
_WARN_EVERY_SECONDS = 10.0
_last_warning: dict[str, float] = {}


def redis_degraded(what: str, exc: BaseException) -> None:
    """Log that `what` went on without Redis: a warning per use at most every 10 s, so
    an outage is seen in the logs without one line per request."""
    now = time.monotonic()
    if now - _last_warning.get(what, -_WARN_EVERY_SECONDS) >= _WARN_EVERY_SECONDS:
        _last_warning[what] = now
        log.warning("redis unavailable, %s (%s: %s)", what, type(exc).__name__, exc)


class RedisHolder:
    """The app's Redis client: a real server when REDIS_URL is set, else in-process fakeredis.

    Nothing about money or bindings depends on Redis; it carries locks for jobs,
    rate limits and caches, which on one embedded machine fakeredis serves fine. When
    a real Redis is down each use degrades as docs/operations.md ("Redis down") says:
    catch REDIS_DOWN, call redis_degraded(), and go on (or refuse, for log-ins).
    """

    def __init__(self) -> None:
        self.client: Any = None
        self.is_real = False
        self.url: str | None = None

    def init_app(self, url: str | None) -> None:
        self.url = url
        if url and url.startswith(CLUSTER_SCHEME):
            # Redis Cluster (docs/scale-out.md): any node's address; the client finds the rest.
            from redis.cluster import RedisCluster

            self.client = RedisCluster.from_url("redis://" + url[len(CLUSTER_SCHEME):],
                                                socket_timeout=REDIS_TIMEOUT_SECONDS,
                                                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                                retry=_redis_retry())
            self.is_real = True
        elif url:
            self.client = connect_redis(url)
            self.is_real = True
        else:
            import fakeredis

            self.client = fakeredis.FakeRedis()
            self.is_real = False


def connect_redis(url: str) -> Any:
    """A client of one Redis server as the product builds it: short timeouts, one quick
    retry (what docs/operations.md's "Redis down" times assume)."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                socket_connect_timeout=REDIS_TIMEOUT_SECONDS, retry=_redis_retry())


redis_holder = RedisHolder()


def get_redis() -> Any:
    """The Redis client of the running app."""
    if redis_holder.client is None:
        raise RuntimeError("redis is not initialised; call create_app first")
    return redis_holder.client
