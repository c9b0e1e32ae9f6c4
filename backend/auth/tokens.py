"""The backend's own signed, expiring tokens (members, staff, platform operators)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from backend.errors import Unauthorized

KINDS = ("member", "staff", "supplier")  # supplier: a supplier's login (role "supplier")


class TokenExpired(Unauthorized):
    code = "token_expired"
    message = "登录已过期，请重新登录"


class TokenInvalid(Unauthorized):
    code = "token_invalid"
    message = "登录凭证无效"


class TokenRevoked(Unauthorized):
    """The token was signed before a logout, a role change, a deactivation or a freeze."""

    code = "token_revoked"
    message = "登录已失效，请重新登录"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a member or staff account of one tenant, or the platform operator."""

    kind: str  # member | staff | supplier | platform
    tenant_id: int | None
    subject_id: int | None
    role: str | None = None  # staff: see backend/staff/models.py ROLES; supplier: supplier
    version: int = 0  # the principal's token version when the token was signed
    scope: str = "all"  # for the route being served: "own" narrows it to own rows (policy)

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.subject_id}" if self.subject_id else self.kind


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="siyu-token-v1")


def issue_token(*, kind: str, tenant_id: int, subject_id: int, role: str | None = None,
                version: int = 0) -> str:
    """Sign a token for a member, staff or supplier account at its current token version."""
    if kind not in KINDS:
        raise ValueError(kind)
    return _serializer().dumps({"k": kind, "t": tenant_id, "s": subject_id, "r": role,
                                "v": version})


def read_token(token: str) -> Principal:
    """Verify signature and age; raise TokenExpired or TokenInvalid."""
    ttl = current_app.config["SIYU_SETTINGS"].token_ttl_seconds
    try:
        data = _serializer().loads(token, max_age=ttl)
    except SignatureExpired as exc:
        raise TokenExpired() from exc
    except BadSignature as exc:
        raise TokenInvalid() from exc
    if not isinstance(data, dict) or data.get("k") not in KINDS:
        raise TokenInvalid()
    try:
        return Principal(kind=data["k"], tenant_id=int(data["t"]), subject_id=int(data["s"]),
                         role=data.get("r"), version=int(data.get("v") or 0))
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenInvalid() from exc
