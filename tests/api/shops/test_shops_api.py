"""The shop API: the owner's pages, the visitor's pages, and the back-office."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.extensions import db
from backend.members.models import Binding
from tests.shops_factories import StandInCatalog, open_shop
from tests.unit.posters.conftest import read_qr_texts


def test_a_promoter_opens_a_shop_picks_products_and_a_visitor_arrives_bound(
        client: Any, factory: Any, catalog: StandInCatalog) -> None:
    tenant = factory.tenant()
    owner, visitor = factory.member(tenant, nickname="小美"), factory.member(tenant)
    tea, cup = catalog.add(tenant, title="普洱茶"), catalog.add(tenant, title="茶杯", price_fen=3900)
    h = factory.member_headers(owner)

    resp = client.post("/api/v1/mp/my-shop", headers=h, json={
        "name": "小美的茶铺", "intro": "好茶自饮", "banner_url": "https://mmbiz.qpic.cn/b.jpg"})
    assert resp.status_code == 201, resp.json
    assert resp.json["stats"] == {"visitors": 0, "bound_visitors": 0, "orders": 0, "sales_fen": 0}

    resp = client.put("/api/v1/mp/my-shop/products", headers=h, json={"product_ids": [cup, tea]})
    assert [p["id"] for p in resp.json["products"]] == [cup, tea]
    resp = client.put(f"/api/v1/mp/my-shop/products/{tea}/position", headers=h, json={"position": 0})
    assert [p["id"] for p in resp.json["products"]] == [tea, cup]

    png = client.get("/api/v1/mp/my-shop/qr", headers=h)
    assert png.status_code == 200 and png.mimetype == "image/png"
    [scene] = read_qr_texts(png.data)

    resp = client.post("/api/v1/mp/shops/enter", headers=factory.member_headers(visitor),
                       json={"scene": scene})
    assert resp.status_code == 200, resp.json
    assert (resp.json["bind_status"], resp.json["parent_id"]) == ("bound", owner.id)
    assert resp.json["shop"]["name"] == "小美的茶铺" and resp.json["owner"]["nickname"] == "小美"
    assert scene == f"i={owner.invite_code}&h={resp.json['shop']['id']}"
    assert [p["title"] for p in resp.json["products"]] == ["普洱茶", "茶杯"]
    assert db.session.scalar(select(Binding.source).where(Binding.member_id == visitor.id)) == "shop"

    mine = client.get("/api/v1/mp/my-shop", headers=h).json
    assert mine["stats"]["visitors"] == 1 and mine["stats"]["bound_visitors"] == 1


def test_bad_input_gets_a_code_not_a_crash(client: Any, factory: Any, catalog: StandInCatalog) -> None:
    tenant = factory.tenant()
    owner = factory.member(tenant)
    h = factory.member_headers(owner)
    assert client.get("/api/v1/mp/my-shop", headers=h).json["code"] == "shop_not_found"
    cases = [
        ("post", "/api/v1/mp/my-shop", {"name": ""}, 400, "validation_failed"),
        ("post", "/api/v1/mp/my-shop", {"name": "店", "colour": "red"}, 400, "validation_failed"),
        ("post", "/api/v1/mp/my-shop", {"name": "店", "banner_url": "ftp://x/y.png"}, 400,
         "invalid_shop_field"),
        ("put", "/api/v1/mp/my-shop/products", {"product_ids": [1]}, 404, "shop_not_found"),
    ]
    for method, url, body, status, code in cases:
        resp = getattr(client, method)(url, headers=h, json=body)
        assert (resp.status_code, resp.json["code"]) == (status, code), (url, body, resp.json)
    assert client.post("/api/v1/mp/my-shop", headers=h, json={"name": "店"}).status_code == 201
    more = [
        ("put", "/api/v1/mp/my-shop/products", {"product_ids": ["x"]}, 400, "validation_failed"),
        ("put", "/api/v1/mp/my-shop/products", {"product_ids": [5, 5]}, 400, "invalid_shop_field"),
        ("put", "/api/v1/mp/my-shop/products", {"product_ids": [424242]}, 400, "product_unavailable"),
        ("delete", "/api/v1/mp/my-shop/products/77", None, 404, "product_not_in_shop"),
        ("patch", "/api/v1/mp/my-shop", {"status": "suspended"}, 400, "validation_failed"),
        ("post", "/api/v1/mp/shops/enter", {"scene": "h=1"}, 400, "invalid_scene"),
        ("post", "/api/v1/mp/shops/enter", {"scene": "i=ZZZZZZ&h=999999"}, 404, "shop_not_found"),
        ("post", "/api/v1/mp/my-shop", {"name": "再开一家"}, 409, "shop_already_open"),
    ]
    for method, url, body, status, code in more:
        resp = getattr(client, method)(url, headers=h, json=body)
        assert (resp.status_code, resp.json["code"]) == (status, code), (url, body, resp.json)
    raw = client.post("/api/v1/mp/shops/enter", headers=h, data="{not json",
                      content_type="application/json")
    assert (raw.status_code, raw.json["code"]) == (400, "malformed_json")


def test_the_back_office_lists_shops_with_numbers_and_only_managers_suspend(
        client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    boss, sales = factory.staff(tenant, "boss"), factory.staff(tenant, "sales")
    owner, visitor = factory.member(tenant), factory.member(tenant)
    shop = open_shop(tenant, owner)
    client.post("/api/v1/mp/shops/enter", headers=factory.member_headers(visitor),
                json={"scene": f"i={owner.invite_code}&h={shop.id}"})

    listing = client.get("/api/v1/admin/shops", headers=factory.staff_headers(boss)).json
    assert [(s["id"], s["stats"]["visitors"], s["stats"]["bound_visitors"])
            for s in listing["items"]] == [(shop.id, 1, 1)]

    denied = client.put(f"/api/v1/admin/shops/{shop.id}/status",
                        headers=factory.staff_headers(sales), json={"status": "suspended"})
    assert (denied.status_code, denied.json["code"]) == (403, "role_forbidden")
    done = client.put(f"/api/v1/admin/shops/{shop.id}/status",
                      headers=factory.staff_headers(boss), json={"status": "suspended"})
    assert done.status_code == 200 and done.json["status"] == "suspended"
    page = client.get(f"/api/v1/mp/shops/{shop.id}", headers=factory.member_headers(visitor))
    assert (page.status_code, page.json["code"]) == (404, "shop_unavailable")
    reopen = client.patch("/api/v1/mp/my-shop", headers=factory.member_headers(owner),
                          json={"status": "open"})
    assert (reopen.status_code, reopen.json["code"]) == (403, "shop_suspended")


def test_another_tenants_shop_is_not_found(client: Any, factory: Any) -> None:
    a, b = factory.tenant(), factory.tenant()
    b_shop = open_shop(b, factory.member(b), name="乙方小店")
    viewer = factory.member(a)
    resp = client.get(f"/api/v1/mp/shops/{b_shop.id}", headers=factory.member_headers(viewer))
    assert (resp.status_code, resp.json["code"]) == (404, "shop_not_found")
    boss = factory.staff(a, "boss")
    resp = client.put(f"/api/v1/admin/shops/{b_shop.id}/status", headers=factory.staff_headers(boss),
                      json={"status": "suspended"})
    assert (resp.status_code, resp.json["code"]) == (404, "shop_not_found")


def test_a_member_without_a_shop_moving_a_product_is_told_there_is_no_shop(
        client: Any, factory: Any, catalog: StandInCatalog) -> None:
    tenant = factory.tenant()
    tea = catalog.add(tenant, title="普洱茶")
    resp = client.put(f"/api/v1/mp/my-shop/products/{tea}/position",
                      headers=factory.member_headers(factory.member(tenant)), json={"position": 0})
    assert resp.status_code == 404 and resp.json["code"] == "shop_not_found", resp.json
