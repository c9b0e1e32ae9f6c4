"""Revocable tokens: every request checks its principal's current state.

A principal (a member or a staff account) carries a token version; a token signed at
an older version is refused. Logging out, a role change, a deactivation or a freeze
bumps the version (or the status), so every token issued before stops working at
its next request. The state is read from the database through the owning domain's
service and cached in Redis for STATE_CACHE_SECONDS; the owning service drops the
cache entry when it commits a change, so the cache only bridges requests, it never
keeps a revoked token alive in this deployment (a lost delete waits out the TTL).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from backend.extensions import get_redis

STATE_CACHE_SECONDS = 30


@dataclass(frozen=True)
class PrincipalState:
    """What a token is checked against."""

    status: str  # active | disabled | frozen …; only active passes
    version: int
    role: str | None = None


def _key(kind: str, subject_id: int | None) -> str:
    return f"siyu:principal:{kind}:{subject_id}"


def principal_state(*, kind: str, tenant_id: int | None, subject_id: int | None,
                    load: Callable[..., PrincipalState | None]) -> PrincipalState | None:
    """The principal's current state (None when it no longer exists in this tenant)."""
    redis = get_redis()
    cached = redis.get(_key(kind, subject_id))
    if cached is not None:
        data = json.loads(cached)
        if data is None or data["t"] != tenant_id:
            return None
        return PrincipalState(status=data["s"], version=data["v"], role=data["r"])
    state = load(tenant_id=tenant_id, subject_id=subject_id)
    value = None if state is None else {"t": tenant_id, "s": state.status, "v": state.version,
                                        "r": state.role}
    redis.set(_key(kind, subject_id), json.dumps(value), ex=STATE_CACHE_SECONDS)
    return state


def forget_principal(*, kind: str, subject_id: int) -> None:
    """Drop the cached state (the owning service calls this after committing a change)."""
    get_redis().delete(_key(kind, subject_id))
