"""Revocable tokens: every request checks its principal's current state.

A principal (a member or a staff account) carries a token version; a token signed at
an older version is refused. Logging out, a role change, a deactivation or a freeze
bumps the version (or the status), so every token issued before stops working at
its next request. The state is read from the database through the owning domain's
service and cached in Redis for STATE_CACHE_SECONDS; the owning service drops the
cache entry when it commits a change, so the cache only bridges requests, it never
keeps a revoked token alive in this deployment (a lost delete waits out the TTL).

Redis down: every request reads the state from the database (the cache is skipped,
never trusted blindly), so tokens keep working and revocation stays exact. A change
committed while Redis is down cannot drop its cache entry; an entry cached before the
outage may then answer for up to STATE_CACHE_SECONDS once Redis is back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from backend.extensions import REDIS_DOWN, get_redis, redis_degraded

STATE_CACHE_SECONDS = 30

# The one status that lets a token through. Every kind of login spells it the same
# (MemberStatus.ACTIVE, StaffStatus.ACTIVE, the supplier login's "active"), and the
# cached state stores it as that plain string.
ACTIVE = "active"


@dataclass(frozen=True)
class PrincipalState:
    """What a token is checked against."""

    status: str  # active | disabled | frozen …; only active passes
    version: int
    role: str | None = None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


def _key(kind: str, subject_id: int | None) -> str:
    return f"siyu:principal:{kind}:{subject_id}"


def principal_state(*, kind: str, tenant_id: int | None, subject_id: int | None,
                    load: Callable[..., PrincipalState | None]) -> PrincipalState | None:
    """The principal's current state (None when it no longer exists in this tenant)."""
    redis = get_redis()
    try:
        cached = redis.get(_key(kind, subject_id))
    except REDIS_DOWN as exc:
        redis_degraded("token state read from the database", exc)
        return load(tenant_id=tenant_id, subject_id=subject_id)
    if cached is not None:
        data = json.loads(cached)
        if data is None or data["t"] != tenant_id:
            return None
        return PrincipalState(status=data["s"], version=data["v"], role=data["r"])
    state = load(tenant_id=tenant_id, subject_id=subject_id)
    value = None if state is None else {"t": tenant_id, "s": state.status, "v": state.version,
                                        "r": state.role}
    try:
        redis.set(_key(kind, subject_id), json.dumps(value), ex=STATE_CACHE_SECONDS)
    except REDIS_DOWN as exc:
        redis_degraded("token state not cached", exc)
    return state


def remember_principal(*, kind: str, tenant_id: int, subject_id: int, state: PrincipalState) -> None:
    """Cache the state a log-in just committed (the owning service calls this after its
    commit), so the session's first request finds it instead of reading the database:
    in a surge of new members that request is the binding. The same value, and the same
    race with a revocation committed in between, as a cache miss's own SET."""
    value = {"t": tenant_id, "s": state.status, "v": state.version, "r": state.role}
    try:
        get_redis().set(_key(kind, subject_id), json.dumps(value), ex=STATE_CACHE_SECONDS)
    except REDIS_DOWN as exc:
        redis_degraded("token state not cached at log-in", exc)


def forget_principal(*, kind: str, subject_id: int) -> None:
    """Drop the cached state (the owning service calls this after committing a change)."""
    try:
        get_redis().delete(_key(kind, subject_id))
    except REDIS_DOWN as exc:
        redis_degraded("a revoked token's cached state waits out its 30 s", exc)
