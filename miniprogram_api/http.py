"""The one way a view is declared: parse and validate input, authenticate, run the
service call in a unit of work, render the result. Every route also lands in the
OpenAPI document built from the same declarations."""

from __future__ import annotations

import functools
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, ValidationError

from backend.auth.tokens import Principal, read_token
from backend.db import run_in_unit_of_work
from backend.errors import DomainError, Forbidden, Unauthorized, ValidationFailed


class Body(BaseModel):
    """Base for request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class MalformedJson(DomainError):
    code = "malformed_json"
    message = "请求体不是合法的 JSON"


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


def _read_json() -> Any:
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise MalformedJson() from None


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized()
    return token.strip()


def authenticate(auth: str | None, roles: tuple[str, ...] | None) -> Principal | None:
    """Resolve the caller for a route's auth kind: member, staff, platform or None."""
    if auth is None:
        return None
    token = _bearer()
    if auth == "platform":
        expected = current_app.config["SIYU_SETTINGS"].platform_admin_token
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise Unauthorized(code="token_invalid", message="平台凭证无效")
        return Principal(kind="platform", tenant_id=None, subject_id=None)
    principal = read_token(token)
    if principal.kind != auth:
        raise Forbidden()
    if roles and principal.role not in roles:
        raise Forbidden(code="role_forbidden", message="当前角色无权执行此操作")
    _check_tenant_active(principal.tenant_id)
    return principal


def _check_tenant_active(tenant_id: int | None) -> None:
    from backend.tenants.service import get_tenant

    if tenant_id is not None and get_tenant(tenant_id=tenant_id).status != "active":
        raise TenantSuspended()


def route(bp: Blueprint, rule: str, *, method: str = "GET", auth: str | None = "member",
          roles: tuple[str, ...] | None = None, body: type[BaseModel] | None = None,
          query: type[BaseModel] | None = None, summary: str = "", raw: bool = False,
          status: int = 200) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a JSON endpoint. The view receives principal=, body=, query= and path args.

    GET views run without a transaction; every other method runs in one unit of work
    (retried whole on a deadlock), so a failing request writes nothing. A view that
    returns a flask Response (raw=True) renders it as is.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def view(**path: Any) -> Any:
            def call() -> Any:
                kwargs: dict[str, Any] = dict(path)
                principal = authenticate(auth, roles)
                if auth is not None:
                    kwargs["principal"] = principal
                if body is not None:
                    kwargs["body"] = _validate(body, _read_json())
                if query is not None:
                    kwargs["query"] = _validate(query, request.args.to_dict())
                return fn(**kwargs)

            result = call() if method == "GET" else run_in_unit_of_work(call)
            if isinstance(result, Response):
                return result
            return jsonify(result), status

        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        prefix = bp.url_prefix or ""
        params = [p.split(":")[-1].rstrip(">") for p in rule.split("<")[1:]]
        ROUTES.append(RouteDoc(rule=prefix + rule, method=method, summary=summary or (
            fn.__doc__ or "").strip().splitlines()[0] if (summary or fn.__doc__) else fn.__name__,
            tag=bp.name, auth=auth, body=body, query=query, raw=raw, path_params=params))
        return view

    return decorate


def page_of(items: list[Any], render: Callable[[Any], dict[str, Any]], limit: int) -> dict[str, Any]:
    """A keyset page: items plus the cursor for the next one (None at the end)."""
    rows = [render(i) for i in items]
    next_cursor = items[-1].id if len(items) == limit and items else None
    return {"items": rows, "next_cursor": next_cursor}
