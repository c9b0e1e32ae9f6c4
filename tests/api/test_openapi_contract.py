"""The API contract: /openapi.json is valid OpenAPI 3.1 that generic clients can use
(templated, typed paths; a response schema from a pydantic model for every route; the
error shape with each route's codes; auth per route), /docs works offline, and field
errors speak Chinese with the field's path."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from miniprogram_api.http import ROUTES
from miniprogram_api.meta import error_codes


@pytest.fixture()
def doc(client: Any) -> dict[str, Any]:
    return client.get("/openapi.json").json


def test_the_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises on any defect


def test_the_validator_refuses_a_broken_document(doc: dict[str, Any]) -> None:
    broken = {**doc, "paths": {"/x/{id}": {"get": {"responses": {"200": {"description": "ok"}}}}}}
    with pytest.raises(OpenAPIValidationError):
        validate(broken)  # a path template without its parameter


def test_paths_are_templated_and_path_and_query_parameters_typed(doc: dict[str, Any]) -> None:
    for path, ops in doc["paths"].items():
        assert "<" not in path and ">" not in path, path
        for op in ops.values():
            for p in op.get("parameters", []):
                assert p["schema"].get("type") or p["schema"].get("anyOf") or p["schema"].get("$ref"), (path, p)
    member = doc["paths"]["/api/v1/admin/members/{member_id}"]["get"]
    assert member["parameters"][0] == {"name": "member_id", "in": "path", "required": True,
                                       "schema": {"type": "integer", "minimum": 0}}
    page = {p["name"]: p for p in doc["paths"]["/api/v1/admin/members"]["get"]["parameters"]}
    assert page["limit"]["schema"]["type"] == "integer" and page["limit"]["schema"]["maximum"] == 200
    statement = {p["name"]: p for p in doc["paths"]["/api/v1/mp/wallet/statement"]["get"]["parameters"]}
    assert statement["start"]["schema"] == {"type": "string", "format": "date-time"}


def test_every_route_answers_with_a_declared_response_model() -> None:
    """A route added without response= (or a 204, or a declared media type for a raw
    Response) fails here, with what to do."""
    missing = [r for r in ROUTES if not r.declared]
    assert not missing, (
        "These routes have no response model:\n"
        + "\n".join(f"  {r.method} {r.rule}  ({r.where})" for r in missing)
        + "\nDeclare what each answers: @route(..., response=SomeOut) with a pydantic model "
          "subclassing miniprogram_api.http.Out (Items[SomeOut] for {items}, Page[SomeOut] for "
          "{items, next_cursor}); status=204 when it answers nothing; raw=True, content='image/png' "
          "for a view returning its own flask Response. See docs/conventions.md, 'HTTP'.")


def test_every_success_has_a_schema_and_201_204_are_documented(doc: dict[str, Any]) -> None:
    statuses = {(r.method.lower(), re.sub(r"<(?:[a-z]+:)?([^>]+)>", r"{\1}", r.rule)): r.status
                for r in ROUTES if r.declared}
    for (method, path), status in statuses.items():
        responses = doc["paths"][path][method]["responses"]
        assert str(status) in responses, (method, path, status)
        ok = responses[str(status)]
        if status == 204:
            assert "content" not in ok
        else:
            assert ok["content"], (method, path)
            for media in ok["content"].values():
                assert media["schema"], (method, path)
    created = doc["paths"]["/api/v1/mp/wallet/withdrawals"]["post"]["responses"]
    assert created["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WithdrawalOut"}
    assert "204" in doc["paths"]["/api/v1/pay/notify/{tenant_slug}"]["post"]["responses"]
    wallet = doc["components"]["schemas"]["WalletOut"]
    assert wallet["properties"]["frozen_fen"] == {"title": "Frozen Fen", "type": "integer"}


def test_errors_are_one_shape_with_each_routes_codes(doc: dict[str, Any]) -> None:
    error = doc["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"code", "message", "details"}
    assert error["required"] == ["code", "message"]
    known = error_codes()
    for r in ROUTES:
        unknown = [c for c in r.errors if c not in known]
        assert not unknown, f"{r.where} declares unknown error codes {unknown}"
    withdraw = doc["paths"]["/api/v1/mp/wallet/withdrawals"]["post"]["responses"]
    assert "insufficient_balance" in withdraw["409"]["description"]
    assert withdraw["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "validation_failed" in withdraw["400"]["description"]
    assert "unauthorized" in withdraw["401"]["description"]


def test_auth_is_stated_per_route_with_three_bearer_schemes(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert {k: (v["type"], v["scheme"]) for k, v in schemes.items()} == {
        "memberBearer": ("http", "bearer"), "staffBearer": ("http", "bearer"),
        "platformBearer": ("http", "bearer"), "supplierBearer": ("http", "bearer")}
    expect = {"member": [{"memberBearer": []}], "staff": [{"staffBearer": []}],
              "supplier": [{"supplierBearer": []}], "platform": [{"platformBearer": []}], None: []}
    for r in ROUTES:
        path = re.sub(r"<(?:[a-z]+:)?([^>]+)>", r"{\1}", r.rule)
        op = doc["paths"][path][r.method.lower()]
        assert op["security"] == expect[r.auth], (r.method, path)
    handover = doc["paths"]["/api/v1/admin/scrm/handover"]["post"]
    assert "权限：" in handover["description"] and "boss" in handover["description"]


def test_docs_is_swagger_ui_served_from_this_app_without_a_cdn(client: Any) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "SwaggerUIBundle" in html and "/openapi.json" in html and "persistAuthorization" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "a page resource from elsewhere"
    for asset in re.findall(r"""(?:src|href)="(/docs/[^"]+)""", html):
        res = client.get(asset)
        assert res.status_code == 200 and len(res.data) > 500, asset
        res.close()
    bundle = client.get("/docs/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in bundle.data
    bundle.close()


def test_field_errors_are_chinese_with_the_field_path(client: Any, factory: Any) -> None:
    member = factory.member(factory.tenant())
    res = client.post("/api/v1/mp/shop/orders", headers=factory.member_headers(member), json={
        "items": [{"sku_id": 1, "quantity": "many"}], "receiver": {"name": "张三", "phone": "1"},
        "surprise": 1})
    assert res.status_code == 400 and res.json["code"] == "validation_failed"
    details = {d["field"]: d["message"] for d in res.json["details"]}
    assert details["items[0].quantity"] == "须为整数"
    assert details["receiver.address"] == "必填"
    assert details["surprise"] == "不支持该字段"
    for message in details.values():
        assert re.search(r"[\u4e00-\u9fff]", message), message
    res = client.get("/api/v1/mp/me/team?limit=1000", headers=factory.member_headers(member))
    assert res.json["details"] == [{"field": "limit", "message": "须小于或等于 100"}]
