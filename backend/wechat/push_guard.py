"""Replay protection for signed pushes (official account, WeCom).

A push's signature covers its timestamp and nonce, so a leaked signed URL (from an
access log, say) could be sent again at will. Every push must carry a timestamp
within PUSH_WINDOW_SECONDS of our clock, and each (timestamp, nonce) pair is
remembered in Redis for as long as the window could accept it: the second arrival
is refused. A signature is verified before the pair is remembered, so nobody can
spend another sender's nonces.

A push whose handling fails releases its claim (release_nonce), so WeChat's own retry
of the same push, and a unit of work retried whole after a deadlock, are accepted.

Redis down: the push is accepted on its signature and timestamp window alone (with a
warning), so follows and bindings keep coming in; a replay within the window is then
harmless, because what a push does is idempotent (a member is bound once, an event's
message id is handled once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.extensions import REDIS_DOWN, get_redis, redis_degraded
from backend.wechat.errors import PushReplayed, PushStale

PUSH_WINDOW_SECONDS = 300


def _q(query: Mapping[str, Any], name: str) -> str:
    value = query.get(name, "")
    return value if isinstance(value, str) else str(value)


def check_fresh(query: Mapping[str, Any], *, now: float) -> int:
    """The push's timestamp, if within the window of `now`; PushStale otherwise."""
    raw = _q(query, "timestamp")
    if not raw.isdigit() or len(raw) > 12:
        raise PushStale()
    ts = int(raw)
    if abs(now - ts) > PUSH_WINDOW_SECONDS:
        raise PushStale()
    return ts


def claim_nonce(*, channel: str, account: str, query: Mapping[str, Any], now: float) -> str:
    """Remember this push's (timestamp, nonce) for the window; PushReplayed when it was
    seen already, PushStale when its timestamp is out of the window. Returns the key
    (release_nonce frees it when the push could not be handled)."""
    ts = check_fresh(query, now=now)
    nonce = _q(query, "nonce")
    if not nonce or len(nonce) > 64:
        raise PushStale()
    key = f"siyu:push-nonce:{channel}:{account}:{ts}:{nonce}"
    try:
        fresh = get_redis().set(key, b"1", nx=True, ex=2 * PUSH_WINDOW_SECONDS + 60)
    except REDIS_DOWN as exc:
        redis_degraded("pushes accepted on signature and timestamp alone", exc)
        return ""
    if not fresh:
        raise PushReplayed()
    return key


def release_nonce(key: str) -> None:
    """Forget a claim (the push failed; the sender may try the same push again)."""
    if not key:
        return  # nothing was claimed (Redis was down)
    try:
        get_redis().delete(key)
    except REDIS_DOWN as exc:
        redis_degraded("a push's nonce stays claimed until it expires", exc)
