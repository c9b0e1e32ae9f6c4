"""Health, the OpenAPI document and a browsable page of it."""

from __future__ import annotations

import html
from typing import Any

from flask import Blueprint, Response, jsonify

from backend.health import check_health
from miniprogram_api.http import ROUTES

bp = Blueprint("meta", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    ok, checks = check_health()
    return jsonify({"status": "ok" if ok else "degraded", **checks}), 200 if ok else 503


def _schema(model: Any, components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document, built from the route declarations."""
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for r in ROUTES:
        path = r.rule
        for p in r.path_params:
            path = path.replace(f"<int:{p}>", "{" + p + "}").replace(f"<{p}>", "{" + p + "}")
        op: dict[str, Any] = {"summary": r.summary, "tags": [r.tag],
                              "responses": {"200": {"description": "OK"},
                                            "4XX": {"description": "{code, message}"}}}
        params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                  for p in r.path_params]
        if r.query is not None:
            for name, f in r.query.model_fields.items():
                params.append({"name": name, "in": "query", "required": f.is_required(),
                               "schema": {"type": "string"}, "description": f.description or ""})
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": _schema(r.body, components)}}}
        if r.auth:
            op["security"] = [{"bearer": []}]
            op["description"] = f"auth: {r.auth}"
        paths.setdefault(path, {})[r.method.lower()] = op
    return {"openapi": "3.1.0",
            "info": {"title": "Siyu API", "version": "1",
                     "description": "私域社交电商后端。Errors are {code, message}."},
            "paths": paths,
            "components": {"schemas": components, "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"}}}}


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(build_openapi())


@bp.get("/docs")
def docs() -> Response:
    """A self-contained page (no CDN: the product runs offline) listing every operation."""
    doc = build_openapi()
    rows = []
    for path, ops in sorted(doc["paths"].items()):
        for method, op in ops.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
            fields = ""
            if ref:
                props = doc["components"]["schemas"].get(ref, {}).get("properties", {})
                fields = ", ".join(props)
            rows.append(f"<tr><td><b>{method.upper()}</b></td><td><code>{html.escape(path)}</code>"
                        f"</td><td>{html.escape(op.get('summary', ''))}</td>"
                        f"<td>{html.escape(op.get('description', ''))}</td>"
                        f"<td>{html.escape(fields)}</td></tr>")
    page = ("<!doctype html><meta charset=utf-8><title>Siyu API</title>"
            "<style>body{font-family:sans-serif;margin:2em}td{padding:4px 8px;"
            "border-bottom:1px solid #ddd}</style><h1>Siyu API</h1>"
            "<p>Machine-readable: <a href=/openapi.json>/openapi.json</a></p>"
            "<table><tr><th>method</th><th>path</th><th>summary</th><th>auth</th><th>body</th></tr>"
            + "".join(rows) + "</table>")
    return Response(page, mimetype="text/html")
