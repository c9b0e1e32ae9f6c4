"""The buyer's product list from a cache (the hottest read), invalidated on catalog change.

Every catalog write that changes what the list shows (a product created or edited, a
SKU added or edited, stock moved: the list shows stock) bumps the tenant's catalog
version, in its transaction and again once it commits. An entry is keyed by tenant +
catalog version + the buyer's pricing (agent level, member-level discount) + the page,
so a change is visible on the next read and two buyers priced differently never share
an entry. A page is kept rendered (JSON bytes) in Redis and in each process's memory;
every read asks Redis for the version, so the memory never answers a stale page. A reader that read the old rows while a write committed can only store them
under the old version, which nobody reads again (and entries expire after TTL anyway).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from backend.db import after_commit
from backend.extensions import REDIS_DOWN, get_redis, redis_degraded

log = logging.getLogger(__name__)

TTL_SECONDS = 300  # a bound on any entry's life, should an invalidation be lost
LOCAL_ENTRIES = 1024  # per process

# The pages this process rendered: (tenant, version, parts) → JSON bytes. A request
# still reads the tenant's version from Redis (one GET: a catalog change anywhere shows
# on the next read), then answers these bytes as they are: no second round trip, no
# parse, no response-model validation, no serialising. Entries of older versions are
# never asked for again; the dict is dropped whole when it outgrows LOCAL_ENTRIES.
# Each entry also lives at most TTL_SECONDS, as Redis's do: a bump lost while Redis
# was down leaves no page older than that.
_local: dict[tuple[int, int, tuple[Hashable, ...]], tuple[float, bytes]] = {}
_clock = time.monotonic


def _version_key(tenant_id: int) -> str:
    return f"siyu:catalog-version:{tenant_id}"


def version(*, tenant_id: int) -> int:
    """The tenant's catalog version. A missing key (never set, or a Redis that lost its
    data) starts at the current time in nanoseconds, never at a number used before:
    a process's memory must not answer a page of an earlier life of the key."""
    redis = get_redis()
    raw = redis.get(_version_key(tenant_id))
    if raw is None:
        redis.set(_version_key(tenant_id), time.time_ns(), nx=True)
        raw = redis.get(_version_key(tenant_id))
    return int(raw) if raw is not None else 0


def _incr(tenant_id: int) -> None:
    # Redis down must not stop a checkout (it reserves stock) or a catalog edit. A lost
    # bump leaves pages keyed on the old version: Redis's and each process's own
    # (_local) expire within TTL_SECONDS; the list only shows stock (an order checks the
    # rows themselves).
    try:
        redis = get_redis()
        redis.set(_version_key(tenant_id), time.time_ns(), nx=True)  # a missing key starts afresh (see version)
        redis.incr(_version_key(tenant_id))
    except REDIS_DOWN as exc:
        redis_degraded("catalog change not bumped (cached product lists may lag up to 300 s)", exc)


def bump(*, tenant_id: int) -> None:
    """The catalog changed: now (no reader caches the new version with old rows read
    before the commit, as the entry would also be keyed on the older version) and once
    committed (readers that raced the commit stored the old version's key)."""
    _incr(tenant_id)
    try:
        after_commit(lambda: _incr(tenant_id))
    except RuntimeError:
        pass  # outside a unit of work (a script's own session): the bump above stands


def cached_json(*, tenant_id: int, parts: Sequence[Hashable], compute: Callable[[], dict[str, Any]]) -> bytes:
    """The JSON body for (tenant, catalog version, parts): from this process's memory,
    else from Redis, else computed (`compute` returns the page as the API renders it)
    and stored in both. Redis failing is a miss: the page is computed, not cached."""
    try:
        v = version(tenant_id=tenant_id)
    except Exception:  # noqa: BLE001 - a cache outage only costs speed
        log.warning("product list cache unavailable", exc_info=True)
        return _render(compute())
    local_key = (tenant_id, v, tuple(parts))
    kept = _local.get(local_key)
    if kept is not None and kept[0] > _clock():
        return kept[1]
    key = f"siyu:mp-products-json:{tenant_id}:{v}:" + ":".join("-" if p is None else str(p) for p in parts)
    try:
        body = get_redis().get(key)
    except Exception:  # noqa: BLE001
        log.warning("product list cache unavailable", exc_info=True)
    if body is None:
        body = _render(compute())
        try:
            get_redis().set(key, body, ex=TTL_SECONDS)
        except Exception:  # noqa: BLE001
            log.warning("product list cache unavailable", exc_info=True)
    if len(_local) >= LOCAL_ENTRIES:
        _local.clear()
    _local[local_key] = (_clock() + TTL_SECONDS, body)
    return body


def _render(page: dict[str, Any]) -> bytes:
    return json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode()
