"""Small per-process caches of a tenant's settings, kept a short time.

Some requests read a tenant's settings row on every call (a restock reads the channel
policy, every order the order policy): a round trip each for values an operator changes
a few times in a tenant's life. A `ProcessCache` keeps a frozen snapshot of such a row
per tenant in the app (`current_app.extensions`) for `ttl` seconds:

- a change written through the ORM in this process drops the tenant's entry at once
  (mapper events on the model: `forget_on_change`), so this process's next read sees
  it, as the tests and the admin who just saved it do;
- a change written by another process (another gunicorn worker, a script) is seen here
  within `ttl` seconds. Keep it short: it is how long an old rule can still be applied.

The tenant status cache (backend/tenants/service.py, 2 s) is one of them, a security
trade-off: a tenant suspended from another process is still served that long.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from flask import current_app, has_app_context
from sqlalchemy import event

T = TypeVar("T")

_clock = time.monotonic  # tests move it forward
_all: list[ProcessCache[Any]] = []


class ProcessCache(Generic[T]):
    """Snapshots by key (a tenant id), each kept `ttl` seconds in this process's app."""

    def __init__(self, name: str, ttl: float) -> None:
        self.name = f"siyu_cache_{name}"
        self.ttl = ttl
        _all.append(self)

    def _entries(self) -> dict[Hashable, tuple[float, T]]:
        entries = current_app.extensions.get(self.name)
        if entries is None:
            entries = current_app.extensions.setdefault(self.name, {})
        return entries  # type: ignore[no-any-return]

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The snapshot kept for `key`, or `load()` kept from now on."""
        entries = self._entries()
        now = _clock()
        hit = entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        self.put(key, value)
        return value

    def peek(self, key: Hashable) -> T | None:
        """The snapshot kept for `key` if it is still fresh, else None; never loads."""
        hit = self._entries().get(key)
        return hit[1] if hit is not None and hit[0] > _clock() else None

    def put(self, key: Hashable, value: T) -> None:
        """Keep `value` for `key` from now on (a caller that loaded it itself)."""
        entries = self._entries()
        if len(entries) >= 4096:  # keys this process served lately: a bound, not a policy
            entries.clear()
        entries[key] = (_clock() + self.ttl, value)

    def forget(self, key: Hashable | None = None) -> None:
        """Drop one key's snapshot (all of them with None) in this process."""
        if not has_app_context():
            return
        if key is None:
            current_app.extensions.pop(self.name, None)
        else:
            current_app.extensions.get(self.name, {}).pop(key, None)

    def forget_on_change(self, model: Any, key: Callable[[Any], Hashable]) -> None:
        """Drop the snapshot of a row's key when this process inserts, updates or
        deletes such a row through the ORM (at its flush)."""
        def drop(_mapper: Any, _connection: Any, row: Any) -> None:
            self.forget(key(row))

        for name in ("after_insert", "after_update", "after_delete"):
            event.listen(model, name, drop)


def forget_process_caches() -> None:
    """Drop every ProcessCache's snapshots in this process (tests: the next test's
    tenants reuse ids; a restore)."""
    for cache in _all:
        cache.forget()
