"""The buyer's product list from Redis (the hottest read), invalidated on catalog change.

Every catalog write that changes what the list shows (a product created or edited, a
SKU added or edited, stock moved: the list shows stock) bumps the tenant's catalog
version, in its transaction and again once it commits. An entry is keyed by tenant +
catalog version + the buyer's pricing (agent level, member-level discount) + the page,
so a change is visible on the next read and two buyers priced differently never share
an entry. A reader that read the old rows while a write committed can only store them
under the old version, which nobody reads again (and entries expire after TTL anyway).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from backend.db import after_commit
from backend.extensions import REDIS_DOWN, get_redis, redis_degraded

log = logging.getLogger(__name__)

TTL_SECONDS = 300  # a bound on any entry's life, should an invalidation be lost


def _version_key(tenant_id: int) -> str:
    return f"siyu:catalog-version:{tenant_id}"


def version(*, tenant_id: int) -> int:
    """The tenant's catalog version (0 before its first change)."""
    raw = get_redis().get(_version_key(tenant_id))
    return int(raw) if raw is not None else 0


def _incr(tenant_id: int) -> None:
    # Redis down must not stop a checkout (it reserves stock) or a catalog edit: the
    # entries a lost bump leaves behind expire within TTL_SECONDS, and the list only
    # shows stock (an order checks the rows themselves).
    try:
        get_redis().incr(_version_key(tenant_id))
    except REDIS_DOWN as exc:
        redis_degraded("catalog change not bumped (cached lists expire within 300 s)", exc)


def bump(*, tenant_id: int) -> None:
    """The catalog changed: now (no reader caches the new version with old rows read
    before the commit, as the entry would also be keyed on the older version) and once
    committed (readers that raced the commit stored the old version's key)."""
    _incr(tenant_id)
    try:
        after_commit(lambda: _incr(tenant_id))
    except RuntimeError:
        pass  # outside a unit of work (a script's own session): the bump above stands


def cached(*, tenant_id: int, parts: Sequence[Hashable], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The entry for (tenant, catalog version, parts), computed and stored on a miss.
    Redis failing is a miss, never an error: the list is then read from the database."""
    redis = get_redis()
    try:
        v = version(tenant_id=tenant_id)
        key = f"siyu:mp-products:{tenant_id}:{v}:" + ":".join("-" if p is None else str(p) for p in parts)
        hit = redis.get(key)
    except Exception:  # noqa: BLE001 - a cache outage only costs speed
        log.warning("product list cache unavailable", exc_info=True)
        return compute()
    if hit is not None:
        return json.loads(hit)  # type: ignore[no-any-return]
    page = compute()
    try:
        redis.set(key, json.dumps(page, ensure_ascii=False, separators=(",", ":")), ex=TTL_SECONDS)
    except Exception:  # noqa: BLE001
        log.warning("product list cache unavailable", exc_info=True)
    return page
