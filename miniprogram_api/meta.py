"""Health, the OpenAPI 3.1 document and the interactive documentation (Swagger UI,
served from the flask-swagger-ui package's own files: no CDN, works offline)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import flask_swagger_ui
from flask import Blueprint, Response, jsonify, send_from_directory
from pydantic import BaseModel

from backend.auth import policy
from backend.errors import DomainError
from backend.health import HealthStatus, check_health
from miniprogram_api.http import ROUTES, Error, RouteDoc

bp = Blueprint("meta", __name__)

# Swagger UI's files as the flask-swagger-ui package ships them (served from here: no CDN).
SWAGGER_DIST = Path(flask_swagger_ui.__file__).parent / "dist"
DOCS_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Siyu API 文档</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"><link rel="icon" href="/docs/favicon-32x32.png">
</head><body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout",
  persistAuthorization: true, tryItOutEnabled: true, displayRequestDuration: true,
  docExpansion: "none", filter: true});
</script></body></html>
"""

SECURITY = {
    "member": ("memberBearer", "会员令牌：POST /api/v1/mp/login 返回的 token"),
    "staff": ("staffBearer", "员工令牌：POST /api/v1/admin/login 返回的 token"),
    "supplier": ("supplierBearer", "供应商令牌：供应商登录返回的 token"),
    "platform": ("platformBearer", "平台运营令牌：环境变量 PLATFORM_ADMIN_TOKEN"),
}

# Codes raised by the edge itself (not a DomainError subclass's default code).
EDGE_CODES = {
    "value_out_of_range": (400, "数值超出范围"),
    "role_forbidden": (403, "当前角色无权执行此操作"),
    "not_found": (404, "资源不存在"),
    "method_not_allowed": (405, "请求方法不允许"),
    "payload_too_large": (413, "请求体过大"),
    # WeChat Pay notifications refused for not fitting their order (payments.NotifyOutcome)
    "amount_mismatch": (400, "支付金额与订单金额不符"),
    "mchid_mismatch": (400, "商户号与订单不符"),
    "refund_amount_mismatch": (400, "退款金额与退款单不符"),
    "transfer_mismatch": (400, "转账结果与提现单不符"),
}


@bp.get("/healthz")
def healthz() -> Any:
    ok, checks = check_health()
    return jsonify({"status": HealthStatus.OK if ok else HealthStatus.DEGRADED, **checks}), 200 if ok else 503


def error_codes() -> dict[str, tuple[int, str]]:
    """Every known error code: its HTTP status and default Chinese message."""
    codes: dict[str, tuple[int, str]] = {}
    todo = [DomainError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        codes.setdefault(cls.code, (cls.http_status, cls.message))
    codes.update(EDGE_CODES)
    return codes


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: Any, mode: str) -> dict[str, Any]:
        """A model's schema in components (validation mode for input, serialization for output)."""
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
        for name, sub in schema.pop("$defs", {}).items():
            self.schemas.setdefault(name, sub)
        name = schema.get("title", model.__name__)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        self.schemas.setdefault(name, schema)
        return {"$ref": f"#/components/schemas/{name}"}

    def inline(self, model: type[BaseModel]) -> dict[str, Any]:
        """Properties of a query model, refs kept in components."""
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            self.schemas.setdefault(name, sub)
        return schema


def _query_schema(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent rather than null: drop the null branch."""
    prop = {k: v for k, v in prop.items() if k not in ("title", "default")}
    variants = prop.pop("anyOf", None)
    if variants:
        kept = [v for v in variants if v.get("type") != "null"]
        prop.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
    return prop


def _path(r: RouteDoc) -> str:
    return re.sub(r"<(?:[a-z]+:)?([^>]+)>", r"{\1}", r.rule)


def _path_params(r: RouteDoc) -> list[dict[str, Any]]:
    out = []
    for name in r.path_params:
        if f"<int:{name}>" in r.rule:
            schema: dict[str, Any] = {"type": "integer", "minimum": 0}
        else:
            schema = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    return out


def _operation_id(r: RouteDoc) -> str:
    """Unique: the blueprint's name (unique) and the view's name (unique in it)."""
    name = r.where.rsplit(".", 1)[-1] if r.where else (
        r.method.lower() + re.sub(r"[^A-Za-z0-9]+", "_", r.rule).rstrip("_"))
    return f"{r.tag}.{name}"


def _operation(r: RouteDoc, comp: _Components, codes: dict[str, tuple[int, str]]) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": r.summary, "tags": [r.tag],
                          "operationId": _operation_id(r)}
    notes = [r.description] if r.description else []
    params = _path_params(r)
    if r.query is not None:
        schema = comp.inline(r.query)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            param = {"name": name, "in": "query", "required": name in required,
                     "schema": _query_schema(prop)}
            if prop.get("description"):
                param["description"] = prop["description"]
            params.append(param)
    if params:
        op["parameters"] = params
    if r.body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": comp.ref(r.body, "validation")}}}
    responses: dict[str, Any] = {}
    if r.status == 204:
        responses["204"] = {"description": "成功（无内容）"}
    elif r.content:
        kinds = (r.content,) if isinstance(r.content, str) else r.content
        responses[str(r.status)] = {"description": "成功", "content": {
            k: {"schema": {"type": "string", "contentMediaType": k}} for k in kinds}}
    elif r.response is not None:
        responses[str(r.status)] = {"description": "成功", "content": {
            "application/json": {"schema": comp.ref(r.response, "serialization")}}}
    else:  # a route without response= (tests/api/test_openapi_contract.py fails on it)
        responses[str(r.status)] = {"description": "成功（响应模型尚未声明）"}
    by_status: dict[int, list[str]] = {}
    for code in r.errors:
        status = codes.get(code, (400, ""))[0]
        by_status.setdefault(status, []).append(code)
    for status, names in sorted(by_status.items()):
        lines = "; ".join(f"`{c}` {codes.get(c, (0, ''))[1]}" for c in names)
        if r.content == "text/html":  # a page for people: errors are pages too
            content = {"text/html": {"schema": {"type": "string", "contentMediaType": "text/html"}}}
        else:
            content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        responses[str(status)] = {"description": f"错误码：{lines}", "content": content}
    op["responses"] = responses
    if r.auth:
        scheme, _ = SECURITY[r.auth]
        op["security"] = [{scheme: []}]
        held = [role for role in policy.ROLES if r.permission and policy.allows(role, r.permission)]
        notes.append(f"认证：{r.auth} bearer" + (f"；权限：{r.permission}（{', '.join(held)}）" if r.permission else ""))
    else:
        op["security"] = []
        notes.append("认证：无（公开或由签名校验）")
    op["description"] = "\n\n".join(notes)
    return op


def build_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document, built from the route declarations."""
    comp = _Components()
    comp.ref(Error, "serialization")
    codes = error_codes()
    paths: dict[str, Any] = {}
    for r in ROUTES:
        paths.setdefault(_path(r), {})[r.method.lower()] = _operation(r, comp, codes)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Siyu API", "version": "1",
                 "description": "私域社交电商后端。错误统一为 {code, message, details}：code 稳定可判断，"
                                "message 为中文，details 在字段校验失败时逐字段给出 {field, message}。"},
        "paths": paths,
        "components": {"schemas": comp.schemas, "securitySchemes": {
            scheme: {"type": "http", "scheme": "bearer", "description": text}
            for scheme, text in SECURITY.values()}},
    }


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(build_openapi())


@bp.get("/docs")
def docs() -> Response:
    """Swagger UI: every operation with try-it; "Authorize" takes a member, staff or
    platform bearer token (kept across reloads)."""
    return Response(DOCS_PAGE, mimetype="text/html")


@bp.get("/docs/<path:name>")
def docs_asset(name: str) -> Response:
    response = send_from_directory(SWAGGER_DIST, name, max_age=86400)
    return response
