"""Log-in lockout: failed attempts counted per (kind of login, tenant, username).

Staff and supplier log-ins both go through `throttled_login`. When the failures of one
(tenant, username) reach the `staff_login_user` limit the pair is locked for the rest of
the window (429 with Retry-After), whether or not the username exists, and the lockout
is audited: in the tenant's log when the tenant exists, in the platform's log (no
tenant) when the slug names none, so guessing at brands is on record too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from backend import ratelimit
from backend.audit.service import record_security_event
from backend.errors import DomainError

T = TypeVar("T")
LIMIT = "staff_login_user"


class LoginLocked(DomainError):
    """Too many failed log-ins for this account: locked for `retry_after` seconds."""

    code = "login_locked"
    http_status = 429
    message = "密码错误次数过多，账号已临时锁定，请稍后再试"

    def __init__(self, *, retry_after: int) -> None:
        super().__init__()
        self.retry_after = max(1, int(retry_after))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def throttled_login(*, kind: str, tenant_id: int | None, tenant_slug: str, username: str,
                    attempt: Callable[[], T], bad: type[Exception]) -> T:
    """Run `attempt` (which raises `bad` on wrong credentials, an unknown user or an
    unknown tenant alike) unless this (kind, tenant, username) is locked out; the failure
    that spends the limit locks it and is audited as `<kind>.login_locked`."""
    lim = ratelimit.limiter()
    # An unknown slug is counted under itself (it cannot collide with a tenant id).
    key = (kind, tenant_id if tenant_id is not None else f"?{tenant_slug.casefold()}", username.casefold())
    try:
        lim.check(LIMIT, *key)
    except ratelimit.RateLimited as exc:
        if exc.message == ratelimit.UNCOUNTED_LOGIN_MESSAGE:
            raise  # Redis is down: nobody counts, so nobody logs in (not a lockout)
        raise LoginLocked(retry_after=exc.retry_after) from None
    try:
        return attempt()
    except bad:
        if not lim.spend(LIMIT, *key):
            raise
    retry = lim.retry_after(LIMIT, *key)
    detail: dict[str, object] = {"retry_after": retry}
    if tenant_id is None:
        detail["tenant_slug"] = tenant_slug[:40]
    record_security_event(tenant_id=tenant_id, actor=f"login:{username}"[:80], action=f"{kind}.login_locked",
                          target_type=f"{kind}_login", target_id=username[:40], detail=detail)
    raise LoginLocked(retry_after=retry)
