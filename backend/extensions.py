"""Extension singletons, bound to an app in create_app (Flask's init_app pattern)."""

from __future__ import annotations

from typing import Any

from flask_sqlalchemy import SQLAlchemy

from backend.orm import Base

db = SQLAlchemy(model_class=Base)


class RedisHolder:
    """The app's Redis client: a real server when REDIS_URL is set, else in-process fakeredis.

    Nothing about money or bindings depends on Redis; it carries locks for jobs,
    rate limits and caches, which on one embedded machine fakeredis serves fine.
    """

    def __init__(self) -> None:
        self.client: Any = None
        self.is_real = False

    def init_app(self, url: str | None) -> None:
        if url:
            import redis

            self.client = redis.Redis.from_url(url)
            self.is_real = True
        else:
            import fakeredis

            self.client = fakeredis.FakeRedis()
            self.is_real = False


redis_holder = RedisHolder()


def get_redis() -> Any:
    """The Redis client of the running app."""
    if redis_holder.client is None:
        raise RuntimeError("redis is not initialised; call create_app first")
    return redis_holder.client
