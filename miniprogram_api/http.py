"""The one way a view is declared: parse and validate input, authenticate, run the
service call in a unit of work, render the result. Every route also lands in the
OpenAPI document built from the same declarations."""

from __future__ import annotations

import functools
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from backend import ratelimit
from backend.auth import policy, revocation
from backend.auth.tokens import Principal, TokenInvalid, TokenRevoked, read_token
from backend.db import run_in_unit_of_work
from backend.errors import DomainError, Forbidden, Unauthorized, ValidationFailed
from backend.members import service as members
from backend.staff import service as staff
from backend.suppliers import service as suppliers
from backend.tenancy import tenant_scope

# Request bodies by kind of route (bytes). A body over its route's limit is refused
# (413) before it is read; the app-wide MAX_CONTENT_LENGTH caps everything else.
BODY_LIMITS = {"json": 64 * 1024, "large": 2 * 1024 * 1024, "callback": 64 * 1024}
# JSON nesting deeper than this is refused before the parser recurses into it.
MAX_JSON_DEPTH = 32


# Control characters (NUL, escapes, DEL) and bidirectional overrides are refused in
# every string a client sends; names (any field whose name ends in "name", and titles)
# refuse line breaks and tabs too.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b\u202a-\u202e\u2066-\u2069]")


def _is_name(field_name: str | None) -> bool:
    return bool(field_name) and (field_name.endswith("name") or field_name == "title")


def _has_control(value: Any, pattern: re.Pattern[str], depth: int = 0) -> bool:
    if isinstance(value, str):
        return pattern.search(value) is not None
    if depth > MAX_JSON_DEPTH:
        return False
    if isinstance(value, dict):
        return any(_has_control(k, _NAME_CONTROL, depth + 1) or _has_control(v, pattern, depth + 1)
                   for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_control(v, pattern, depth + 1) for v in value)
    return False


class Body(BaseModel):
    """Base for request bodies: unknown fields are an error, not silently dropped;
    control characters are refused in every string (line breaks too in names)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        if _has_control(value, _NAME_CONTROL if _is_name(info.field_name) else _CONTROL):
            raise ValueError("不能包含控制字符")
        return value


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class MalformedJson(DomainError):
    code = "malformed_json"
    message = "请求体不是合法的 JSON"


class JsonTooDeep(DomainError):
    code = "json_too_deep"
    message = f"请求体嵌套过深（最多 {MAX_JSON_DEPTH} 层）"


class TenantSuspended(Forbidden):
    code = "tenant_suspended"
    message = "商户已停用"


@dataclass
class RouteDoc:
    rule: str
    method: str
    summary: str
    tag: str
    auth: str | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    raw: bool = False
    path_params: list[str] = field(default_factory=list)
    permission: str | None = None  # staff and supplier routes: backend/auth/policy.py


ROUTES: list[RouteDoc] = []


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validate(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"field": _field_path(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise ValidationFailed(details=details) from None


def json_depth_ok(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text nests at most `limit` deep: one linear scan counting
    brackets outside strings, so a 10,000-deep body never reaches the recursive parser."""
    depth, in_str, escaped = 0, False, False
    for byte in raw:
        if in_str:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_str = False
        elif byte == 0x22:
            in_str = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def limit_body(kind: str) -> None:
    """Refuse (413) a body larger than this kind of route accepts, before reading it."""
    request.max_content_length = BODY_LIMITS[kind]


def _read_json() -> Any:
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    if not json_depth_ok(raw):
        raise JsonTooDeep()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise MalformedJson() from None


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized()
    return token.strip()


def client_address() -> str:
    """The caller's address as the server saw it (behind a proxy, configure the WSGI
    server or ProxyFix so this is the client's, not the proxy's)."""
    return request.remote_addr or "unknown"


# Each kind of token is checked against its principal's current state (status, token
# version, role): a gone account, a frozen member, a deactivated or re-roled staff
# member, or a token from before a logout is refused on its next request.
_STATE_LOADERS = {"member": members.token_state, "staff": staff.token_state,
                  "supplier": suppliers.token_state}


def _current(principal: Principal) -> Principal:
    state = revocation.principal_state(
        kind=principal.kind, tenant_id=principal.tenant_id, subject_id=principal.subject_id,
        load=_STATE_LOADERS[principal.kind])
    if state is None:
        raise TokenInvalid()
    if state.status != "active" or state.version != principal.version:
        raise TokenRevoked()
    return Principal(kind=principal.kind, tenant_id=principal.tenant_id,
                     subject_id=principal.subject_id, role=state.role, version=state.version)


# Principals whose routes are governed by the permission table (backend/auth/policy.py).
POLICED = ("staff", "supplier")


def authenticate(auth: str | None, permission: str | None = None) -> Principal | None:
    """Resolve the caller for a route's auth kind (member, staff, supplier, platform or
    None); staff and supplier callers must hold the route's permission."""
    if auth is None:
        return None
    if auth == "platform":
        return _platform()
    token = _bearer()
    principal = read_token(token)
    if principal.kind != auth:
        raise Forbidden()
    principal = _current(principal)
    if auth in POLICED:
        scope = policy.scope(principal.role, permission)
        if scope is None:
            raise Forbidden(code="role_forbidden", message="当前角色无权执行此操作")
        principal = replace(principal, scope=scope)
    _check_tenant_active(principal.tenant_id)
    return principal


_PHONE_KEYS = {"phone", "mobile", "receiver_phone", "contact_phone", "phone_number"}
_ADDRESS_KEYS = {"address", "receiver_address", "detail_address", "shipping_address"}
_PERSON_KEYS = {"receiver_name", "real_name", "contact_name"}


def mask_phone(value: str) -> str:
    """138****0000: the first three and last four digits."""
    return value[:3] + "****" + value[-4:] if len(value) >= 7 else "****"


def mask_pii(value: Any, depth: int = 0) -> Any:
    """The answer with phone numbers, addresses and people's names masked, for callers
    without "pii.read". Keys decide (receiver.name inside a "receiver" object too)."""
    if depth > MAX_JSON_DEPTH:
        return value
    if isinstance(value, list):
        return [mask_pii(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, v in value.items():
        if isinstance(v, str) and v and key in _PHONE_KEYS:
            out[key] = mask_phone(v)
        elif isinstance(v, str) and v and key in _ADDRESS_KEYS:
            out[key] = v[:6] + "****"
        elif isinstance(v, str) and v and key in _PERSON_KEYS:
            out[key] = v[:1] + "*" * max(1, len(v) - 1)
        elif key == "receiver" and isinstance(v, dict):
            out[key] = mask_pii({("receiver_name" if k == "name" else k): x for k, x in v.items()},
                                depth + 1)
            if "receiver_name" in out[key]:
                out[key]["name"] = out[key].pop("receiver_name")
        else:
            out[key] = mask_pii(v, depth + 1)
    return out


def _platform() -> Principal:
    lim, addr = ratelimit.limiter(), client_address()
    lim.check("platform_fail_ip", addr)
    lim.hit("platform_ip", addr)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    expected = current_app.config["SIYU_SETTINGS"].platform_admin_token
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                             expected.encode()):
        lim.hit("platform_fail_ip", addr)
        raise Unauthorized(code="token_invalid", message="平台凭证无效")
    return Principal(kind="platform", tenant_id=None, subject_id=None)


def _check_tenant_active(tenant_id: int | None) -> None:
    from backend.tenants.service import get_tenant

    if tenant_id is not None and get_tenant(tenant_id=tenant_id).status != "active":
        raise TenantSuspended()


def route(bp: Blueprint, rule: str, *, method: str = "GET", auth: str | None = "member",
          roles: tuple[str, ...] | None = None, body: type[BaseModel] | None = None,
          query: type[BaseModel] | None = None, summary: str = "", raw: bool = False,
          status: int = 200, limit: str | None = None, body_limit: str = "json",
          ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a JSON endpoint. The view receives principal=, body=, query= and path args.

    GET views run without a transaction; every other method runs in one unit of work
    (retried whole on a deadlock), so a failing request writes nothing. A view that
    returns a flask Response (raw=True) renders it as is.

    `limit` names a rate limit of backend/ratelimit.py counted per caller: per client
    address for names ending in _ip, per principal otherwise. `body_limit` is the kind
    of body the route takes (BODY_LIMITS): larger bodies answer 413 unread.

    Who may call a staff or supplier route is not declared here: backend/auth/policy.py
    derives the route's permission from its method and path, and its table says which
    roles hold it. Answers to callers without "pii.read" are masked (mask_pii).
    """
    if limit is not None and limit not in ratelimit.DEFAULTS:
        raise ValueError(f"unknown rate limit {limit!r}")
    if roles is not None:
        raise TypeError(f"{rule}: roles= is gone; who may call a route is backend/auth/policy.py")

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        full_rule = (bp.url_prefix or "") + rule
        permission = policy.permission_for(method, full_rule) if auth in POLICED else None

        @functools.wraps(fn)
        def view(**path: Any) -> Any:
            limit_body(body_limit)

            def call() -> Any:
                kwargs: dict[str, Any] = dict(path)
                principal = authenticate(auth, permission)
                if limit is not None:
                    _count(limit, principal)
                if auth is not None:
                    kwargs["principal"] = principal
                if body is not None:
                    kwargs["body"] = _validate(body, _read_json())
                if query is not None:
                    kwargs["query"] = _validate(query, request.args.to_dict())
                if principal is not None and principal.tenant_id is not None:
                    # A member's or staff member's request sees only its tenant's rows
                    # (backend/tenancy.py), whatever a query forgets to say.
                    with tenant_scope(principal.tenant_id):
                        result = fn(**kwargs)
                else:
                    result = fn(**kwargs)
                if (principal is not None and principal.kind in POLICED
                        and not isinstance(result, Response)
                        and not policy.allows(principal.role, "pii.read")):
                    result = mask_pii(result)
                return result

            result = call() if method == "GET" else run_in_unit_of_work(call)
            if isinstance(result, Response):
                return result
            return jsonify(result), status

        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        prefix = bp.url_prefix or ""
        params = [p.split(":")[-1].rstrip(">") for p in rule.split("<")[1:]]
        ROUTES.append(RouteDoc(rule=prefix + rule, method=method, summary=summary or (
            fn.__doc__ or "").strip().splitlines()[0] if (summary or fn.__doc__) else fn.__name__,
            tag=bp.name, auth=auth, body=body, query=query, raw=raw, path_params=params,
            permission=permission))
        return view

    return decorate


def _count(name: str, principal: Principal | None) -> None:
    if name.endswith("_ip") or principal is None:
        ratelimit.limiter().hit(name, client_address())
    else:
        ratelimit.limiter().hit(name, principal.tenant_id, principal.kind, principal.subject_id)


def page_of(items: list[Any], render: Callable[[Any], dict[str, Any]], limit: int) -> dict[str, Any]:
    """A keyset page: items plus the cursor for the next one (None at the end)."""
    rows = [render(i) for i in items]
    next_cursor = items[-1].id if len(items) == limit and items else None
    return {"items": rows, "next_cursor": next_cursor}
