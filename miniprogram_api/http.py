"""The one way a view is declared: parse and validate input, authenticate, run the
service call in a unit of work, render the result. Every route also lands in the
OpenAPI document built from the same declarations."""

from __future__ import annotations

import functools
import hmac
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from flask import Blueprint, Response, current_app, g, has_app_context, jsonify, request
from pydantic import (
    BaseModel,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from backend import ratelimit
from backend.auth import policy, revocation
from backend.auth.tokens import Principal, TokenInvalid, TokenRevoked, read_token
from backend.db import run_in_unit_of_work
from backend.errors import DomainError, Forbidden, Unauthorized, ValidationFailed
from backend.members import service as members
from backend.staff import service as staff
from backend.suppliers import service as suppliers
from backend.tenancy import tenant_scope
from backend.tenants.types import TenantStatus

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


class Out(BaseModel):
    """Base for response models. A view may return an instance, a dict or any object with
    the fields as attributes (an ORM row, a dataclass); the route validates it against
    the model and renders exactly the model's fields. Under tests a key the model does
    not declare is an error, so a response never carries an undocumented field."""

    model_config = ConfigDict(from_attributes=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _no_undeclared_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and has_app_context() and current_app.testing:
            known = {k for name, f in cls.model_fields.items() for k in (name, f.alias) if k}
            extra = sorted(set(data) - known)
            if extra:
                raise ValueError(f"{cls.__name__} does not declare {extra}: declare them in the "
                                 f"model (they are part of the API) or stop returning them")
        return data


T = TypeVar("T")


class Items(Out, Generic[T]):
    """A whole list: `{"items": [...]}`."""

    items: list[T]


class Page(Out, Generic[T]):
    """A keyset page: `{"items": [...], "next_cursor": id or null}` (null at the end)."""

    items: list[T]
    next_cursor: int | None


# A moment in time, as ISO 8601 with its offset (the services' datetime.isoformat()).
Timestamp = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(), return_type=str),
                      WithJsonSchema({"type": "string", "format": "date-time"})]


class FieldError(BaseModel):
    field: str
    message: str


class Error(BaseModel):
    """Every error: a stable code, a Chinese message, and details when there are any
    (for validation_failed: one {field, message} per field, field as a path like items[0].sku_id)."""

    code: str
    message: str
    details: list[FieldError] | list[dict[str, Any]] | dict[str, Any] | None = None


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
    response: Any = None
    status: int = 200
    content: str | tuple[str, ...] | None = None
    errors: tuple[str, ...] = ()
    description: str = ""
    where: str = ""
    limit: str | None = None

    @property
    def declared(self) -> bool:
        """Whether the route declares what it answers (a response model, a 204, a media type)."""
        return self.status == 204 or bool(self.content) or (
            isinstance(self.response, type) and issubclass(self.response, Out))


ROUTES: list[RouteDoc] = []



ROUTES: list[RouteDoc] = []


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_MESSAGES = {
    "missing": "必填", "extra_forbidden": "不支持该字段", "model_type": "须为对象",
    "model_attributes_type": "须为对象", "dict_type": "须为对象", "list_type": "须为数组",
    "int_type": "须为整数", "int_parsing": "须为整数", "int_from_float": "须为整数",
    "float_type": "须为数字", "float_parsing": "须为数字", "decimal_type": "须为数字",
    "decimal_parsing": "须为数字", "string_type": "须为字符串", "bool_type": "须为布尔值",
    "bool_parsing": "须为布尔值", "string_unicode": "须为合法的 UTF-8 字符串",
    "string_too_short": "长度不能少于 {min_length} 个字符",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确", "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项", "greater_than": "须大于 {gt}",
    "greater_than_equal": "须大于或等于 {ge}", "less_than": "须小于 {lt}",
    "less_than_equal": "须小于或等于 {le}", "multiple_of": "须为 {multiple_of} 的倍数",
    "literal_error": "须为以下之一：{expected}", "enum": "须为以下之一：{expected}",
    "datetime_type": "须为带时区的时间（ISO 8601）", "datetime_parsing": "须为带时区的时间（ISO 8601）",
    "datetime_from_date_parsing": "须为带时区的时间（ISO 8601）",
    "timezone_aware": "须带时区，例如 2026-01-01T08:00:00+08:00", "date_type": "须为日期（YYYY-MM-DD）",
    "date_parsing": "须为日期（YYYY-MM-DD）", "date_from_datetime_parsing": "须为日期（YYYY-MM-DD）",
    "finite_number": "须为有限数值", "none_required": "须为空", "json_invalid": "不是合法的 JSON",
    "union_tag_invalid": "类型标记须为以下之一：{expected_tags}", "union_tag_not_found": "缺少类型标记 {discriminator}",
    "url_parsing": "须为合法的网址", "url_scheme": "网址协议须为 {expected_schemes}",
    "uuid_parsing": "须为合法的 UUID", "frozen_set_type": "须为数组", "set_type": "须为数组",
    "tuple_type": "须为数组", "bytes_type": "须为字符串", "callable_type": "取值不合法",
}


def chinese_message(error: Any) -> str:
    """A pydantic error, in Chinese. A validator's own ValueError text is used as is
    (validators in bodies write Chinese messages)."""
    kind = error.get("type", "")
    if kind in ("value_error", "assertion_error"):
        ctx_error = (error.get("ctx") or {}).get("error")
        return str(ctx_error) if ctx_error is not None else str(error.get("msg", "取值不合法"))
    template = _MESSAGES.get(kind, "取值不合法")
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError, ValueError):
        return template.split("{")[0].rstrip("：") or "取值不合法"


def _validate(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"field": _field_path(e["loc"]) or "(body)", "message": chinese_message(e)}
                   for e in exc.errors()]
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
        data = json.loads(raw)
        # "\ud800" escapes decode to lone surrogates, which no database column can store.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError, RecursionError):
        raise MalformedJson() from None
    return data


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
    if not state.active or state.version != principal.version:
        raise TokenRevoked()
    return Principal(kind=principal.kind, tenant_id=principal.tenant_id,
                     subject_id=principal.subject_id, role=state.role, version=state.version)


# Principals whose routes are governed by the permission table (backend/auth/policy.py).
POLICED = ("staff", "supplier")


def authenticate(auth: str | None, permission: str | None = None, *, check_state: bool = True) -> Principal | None:
    """Resolve the caller for a route's auth kind (member, staff, supplier, platform or
    None); staff and supplier callers must hold the route's permission. check_state=False
    (a member route declared token_state="in_unit") leaves the token-state check to
    the route's unit of work (see `route`)."""
    if auth is None:
        return None
    if auth == "platform":
        return _platform()
    token = _bearer()
    principal = read_token(token)
    if principal.kind != auth:
        raise Forbidden()
    if check_state:
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
    from backend.tenants.errors import TenantNotFound
    from backend.tenants.service import tenant_status

    if tenant_id is None:
        return
    status = tenant_status(tenant_id=tenant_id)
    if status is None:
        raise TenantNotFound()
    if status != TenantStatus.ACTIVE:
        raise TenantSuspended()


_STATE_CHECKED = "siyu_token_state_checked"


def authenticate_now(principal: Principal) -> None:
    """In a token_state="in_unit" view: check the token state here, before what follows
    (TokenRevoked / TokenInvalid when it fails)."""
    _current(principal)
    token_state_checked()


def token_state_checked() -> None:
    """Called by a token_state="in_unit" view whose own statement checked the caller's
    token state (an active member at the token's version) in its WHERE: the route then
    does not check it again."""
    setattr(g, _STATE_CHECKED, True)


# Codes every route of a kind may answer; route(errors=...) adds the route's own.
AUTH_ERRORS = ("unauthorized", "token_expired", "token_invalid", "token_revoked", "forbidden",
               "tenant_suspended")
ROLE_ERRORS = ("role_forbidden",)
INPUT_ERRORS = ("validation_failed", "value_out_of_range")
BODY_ERRORS = ("malformed_json", "json_too_deep")
# A path id of the wrong type can match another route with other methods: 405.
PATH_ERRORS = ("not_found", "method_not_allowed")


def route(bp: Blueprint, rule: str, *, method: str = "GET", auth: str | None = "member",
          roles: tuple[str, ...] | None = None, body: type[BaseModel] | None = None,
          query: type[BaseModel] | None = None, response: Any = None, status: int = 200,
          errors: Sequence[str] = (), summary: str = "", raw: bool = False,
          content: str | tuple[str, ...] | None = None, limit: str | None = None,
          body_limit: str = "json", token_state: str = "first") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a JSON endpoint. The view receives principal=, body=, query= and path args.

    response=Model (an `Out` subclass, or Items[Model] / Page[Model]) is what the view
    answers with status (200, or 201 for a creation); the view returns a Model, a dict or
    an object with the fields as attributes, and the route renders the model. status=204
    answers nothing (the view returns None). raw=True views build their own flask
    Response; content= names its media type for the document ("image/png", "text/csv").
    errors= lists the route's own error codes (DomainError codes, e.g. "insufficient_balance");
    the codes of auth, permissions, input and path ids are added by themselves.

    GET views run without a transaction; every other method runs in one unit of work
    (retried whole on a deadlock), so a failing request writes nothing.

    `limit` names a rate limit of backend/ratelimit.py counted per caller: per client
    address for names ending in _ip, per principal otherwise. `body_limit` is the kind
    of body the route takes (BODY_LIMITS): larger bodies answer 413 unread.

    Who may call a staff or supplier route is not declared here: backend/auth/policy.py
    derives the route's permission from its method and path, and its table says which
    roles hold it. Answers to callers without "pii.read" are masked (mask_pii).

    `token_state`: a token's signature, age, kind and tenant are always checked first;
    its principal's state (active, not revoked: backend/auth/revocation.py) is checked
    before the view too ("first", the default), or — for a member route that writes
    (not GET) and whose view writes nothing outside its unit of work before the commit
    — "in_unit": the view may check it in the WHERE of its own statement and say so
    (token_state_checked()); when it does not, the route checks it after the view and
    before the commit (a revoked token's writes roll back), and before letting any
    error of the view or its input through, so a revoked token is answered
    token_revoked whatever it sent. A surge's binding saves the state's cache read,
    database read and cache write that way.
    """
    if limit is not None and limit not in ratelimit.DEFAULTS:
        raise ValueError(f"unknown rate limit {limit!r}")
    if token_state not in ("first", "in_unit"):
        raise ValueError(f"{rule}: token_state is 'first' or 'in_unit'")
    if token_state == "in_unit" and (auth != "member" or method == "GET" or limit is not None):
        raise ValueError(f"{rule}: token_state='in_unit' is for member routes that write, without a rate limit")
    if roles is not None:
        raise TypeError(f"{rule}: roles= is gone; who may call a route is backend/auth/policy.py")
    if query is not None and issubclass(query, Out):
        raise TypeError(f"{rule}: query= takes a Query model, not a response model ({query.__name__})")

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        full_rule = (bp.url_prefix or "") + rule
        permission = policy.permission_for(method, full_rule) if auth in POLICED else None
        doc = RouteDoc(rule=full_rule, method=method, summary="", tag=bp.name, auth=auth, body=body,
                       query=query, raw=raw, permission=permission, response=response, status=status,
                       content=content, path_params=re.findall(r"<(?:[a-z]+:)?([^>]+)>", rule),
                       where=f"{fn.__module__}.{fn.__name__}", limit=limit)
        doc.errors = _route_errors(doc, errors)

        @functools.wraps(fn)
        def view(**path: Any) -> Any:
            limit_body(body_limit)

            def call() -> Any:
                if token_state == "first":
                    return serve(authenticate(auth, permission))
                principal = authenticate(auth, permission, check_state=False)
                setattr(g, _STATE_CHECKED, False)  # per attempt: a deadlock retry runs the view again
                try:
                    result = serve(principal)
                except DomainError:
                    if not getattr(g, _STATE_CHECKED, False):
                        _current(principal)  # a revoked token's answer is token_revoked
                    raise
                if not getattr(g, _STATE_CHECKED, False):
                    _current(principal)  # raises (and the unit of work rolls back) if revoked
                return result

            def serve(principal: Principal | None) -> Any:
                kwargs: dict[str, Any] = dict(path)
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
                        result = _dump(response, fn(**kwargs))
                else:
                    result = _dump(response, fn(**kwargs))
                if (principal is not None and principal.kind in POLICED
                        and not isinstance(result, Response)
                        and not policy.allows(principal.role, "pii.read")):
                    result = mask_pii(result)
                return result

            try:
                result = call() if method == "GET" else run_in_unit_of_work(call)
            except DomainError as exc:
                _note_error(doc, exc.code)
                raise
            if isinstance(result, Response):
                if result.status_code >= 400 and result.is_json:
                    _note_error(doc, (result.get_json(silent=True) or {}).get("code", ""))
                return result
            if status == 204:
                return Response(status=204)
            return jsonify(result), status

        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        text = (summary or fn.__doc__ or fn.__name__).strip()
        doc.summary = text.splitlines()[0]
        doc.description = " ".join(line.strip() for line in text.splitlines()[1:]).strip()
        ROUTES.append(doc)
        return view

    return decorate


def _count(name: str, principal: Principal | None) -> None:
    if name.endswith("_ip") or principal is None:
        ratelimit.limiter().hit(name, client_address())
    else:
        ratelimit.limiter().hit(name, principal.tenant_id, principal.kind, principal.subject_id)


def _dump(model: Any, result: Any) -> Any:
    """The view's answer as JSON data: validated against the route's response model (inside
    the request's session and tenant scope), or as is for a Response or a route without one."""
    if model is None or isinstance(result, Response) or result is None:
        return result  # no response=: tests/api/test_openapi_contract.py fails on such a route
    if not isinstance(result, model):
        result = model.model_validate(result)
    return result.model_dump(mode="json", by_alias=True)


def _route_errors(doc: RouteDoc, own: Sequence[str]) -> tuple[str, ...]:
    codes: list[str] = []
    if doc.auth in ("member", "staff", "supplier"):
        codes += AUTH_ERRORS
    elif doc.auth == "platform":
        codes += ("unauthorized", "token_invalid", "rate_limited")
    if doc.auth in POLICED:
        codes += ROLE_ERRORS
    if doc.body is not None or doc.query is not None or doc.path_params:
        codes += INPUT_ERRORS
    if doc.body is not None:
        codes += BODY_ERRORS
    if doc.method != "GET":
        codes += ("payload_too_large",)
    if doc.limit is not None:
        codes += ("rate_limited",)
    if doc.path_params:
        codes += PATH_ERRORS
    return tuple(dict.fromkeys([*codes, *own]))


# Under tests: an error code a route answered that its declaration does not list
# (tests/conftest.py fails the test that caused it, naming the route and the code).
UNDECLARED: list[tuple[RouteDoc, str]] = []


def _note_error(doc: RouteDoc, code: str) -> None:
    if code and code not in doc.errors and doc.declared and current_app.testing:
        UNDECLARED.append((doc, code))


def page_of(items: list[Any], render: Callable[[Any], Any], limit: int) -> dict[str, Any]:
    """A keyset page: items plus the cursor for the next one (None at the end)."""
    rows = [render(i) for i in items]
    next_cursor = items[-1].id if len(items) == limit and items else None
    return {"items": rows, "next_cursor": next_cursor}
