"""The mini-program shop over HTTP: log in through the sandbox, browse at my prices,
order, pay with the parameters WeChat accepts, confirm receipt, ask for a refund; and
every money endpoint answers malformed input with a code, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.orders_factories import RECEIVER

BASE = "/api/v1/mp/shop"


def login(client: Any, tenant: Any, code: str) -> dict[str, str]:
    resp = client.post("/api/v1/mp/login", json={"tenant": tenant.slug, "code": code})
    assert resp.status_code == 200, resp.json
    return {"Authorization": f"Bearer {resp.json['token']}"}


def order_body(sku: int, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"items": [{"sku_id": sku, "quantity": quantity}], "receiver": RECEIVER, **extra}


def test_a_buyer_browses_orders_pays_receives_and_asks_for_a_refund(client, factory, shop, sandbox):
    t = factory.tenant()
    pid, sku = shop.product(t, price_fen=12800)
    shop.product(t, on_shelf=False, name="下架")
    me = login(client, t, "shop-buyer")
    listing = client.get(f"{BASE}/products", headers=me).json
    assert [p["id"] for p in listing["items"]] == [pid]
    assert listing["items"][0]["skus"][0]["price_fen"] == 12800
    assert client.get(f"{BASE}/products/{pid}", headers=me).json["min_price_fen"] == 12800

    created = client.post(f"{BASE}/orders", headers=me, json=order_body(sku, 2, remark="尽快发货"))
    assert created.status_code == 201 and created.json["payable_fen"] == 25600
    oid = created.json["id"]
    pay = client.post(f"{BASE}/orders/{oid}/prepay", headers=me)
    assert pay.status_code == 200, pay.json
    shop.deliver(sandbox.request_payment(pay.json["request_payment"], appid=pay.json["appid"]))
    assert client.get(f"{BASE}/orders/{oid}", headers=me).json["status"] == "paid"
    assert client.post(f"{BASE}/orders/{oid}/prepay", headers=me).json["code"] == "order_state_conflict"

    from backend.db import unit_of_work, utcnow
    from backend.orders import service as orders

    with unit_of_work():
        orders.ship_order(tenant_id=t.id, order_id=oid, company="顺丰速运", tracking_no="SF0001", actor="x",
                          now=utcnow())
    received = client.post(f"{BASE}/orders/{oid}/receive", headers=me)
    assert received.status_code == 200 and received.json["status"] == "received"
    refund = client.post(f"{BASE}/orders/{oid}/refunds", headers=me, json={"reason": "质量问题"})
    assert refund.status_code == 201 and (refund.json["status"], refund.json["amount_fen"]) == ("requested", 25600)
    mine = client.get(f"{BASE}/orders", headers=me).json
    assert [(o["id"], o["status"]) for o in mine["items"]] == [(oid, "refunding")]
    assert client.get(f"{BASE}/orders/{oid}/refunds", headers=me).json["items"][0]["id"] == refund.json["id"]


def test_a_buyer_cancels_an_unpaid_order(client, factory, shop):
    t = factory.tenant()
    _, sku = shop.product(t, stock=3)
    me = login(client, t, "shop-canceller")
    oid = client.post(f"{BASE}/orders", headers=me, json=order_body(sku, 3)).json["id"]
    assert client.post(f"{BASE}/orders", headers=me, json=order_body(sku)).json["code"] == "out_of_stock"
    resp = client.post(f"{BASE}/orders/{oid}/cancel", headers=me)
    assert resp.status_code == 200 and resp.json["status"] == "cancelled"
    assert client.post(f"{BASE}/orders", headers=me, json=order_body(sku)).status_code == 201


def test_another_members_order_is_not_found(client, factory, shop):
    t = factory.tenant()
    _, sku = shop.product(t)
    alice, bob = login(client, t, "shop-alice"), login(client, t, "shop-bob")
    oid = client.post(f"{BASE}/orders", headers=alice, json=order_body(sku)).json["id"]
    for method, path in (("get", ""), ("post", "/prepay"), ("post", "/cancel"), ("post", "/receive")):
        resp = getattr(client, method)(f"{BASE}/orders/{oid}{path}", headers=bob)
        assert (resp.status_code, resp.json["code"]) == (404, "order_not_found"), path


@pytest.mark.parametrize("body, field", [
    ({"items": [], "receiver": RECEIVER}, "items"),
    ({"items": [{"sku_id": 1, "quantity": "2"}], "receiver": RECEIVER}, "items[0].quantity"),
    ({"items": [{"sku_id": 1, "quantity": 1.5}], "receiver": RECEIVER}, "items[0].quantity"),
    ({"items": [{"sku_id": 1, "quantity": 0}], "receiver": RECEIVER}, "items[0].quantity"),
    ({"items": [{"sku_id": -1, "quantity": 1}], "receiver": RECEIVER}, "items[0].sku_id"),
    ({"items": [{"sku_id": 1, "quantity": 1, "price_fen": 1}], "receiver": RECEIVER}, "items[0].price_fen"),
    ({"items": [{"sku_id": 1, "quantity": 1}]}, "receiver"),
    ({"items": [{"sku_id": 1, "quantity": 1}], "receiver": {**RECEIVER, "phone": "call me"}}, "receiver.phone"),
    ({"items": [{"sku_id": 1, "quantity": 1}], "receiver": RECEIVER, "source": {"type": "tv", "id": 1}},
     "source.type"),
])
def test_malformed_orders_are_refused_with_the_field_named(client, factory, body, field):
    t = factory.tenant()
    me = login(client, t, "shop-malformed")
    resp = client.post(f"{BASE}/orders", headers=me, json=body)
    assert resp.status_code == 400 and resp.json["code"] == "validation_failed"
    assert field in [d["field"] for d in resp.json["details"]]


def test_money_endpoints_refuse_broken_json_and_missing_tokens_with_a_code(client, factory, shop):
    t = factory.tenant()
    _, sku = shop.product(t)
    me = login(client, t, "shop-broken")
    broken = client.post(f"{BASE}/orders", headers={**me, "Content-Type": "application/json"}, data=b"{items")
    assert (broken.status_code, broken.json["code"]) == (400, "malformed_json")
    assert client.post(f"{BASE}/orders", json=order_body(sku)).status_code == 401
    refund = client.post(f"{BASE}/orders/1/refunds", headers=me, json={"reason": "", "order_line_id": 0})
    assert refund.status_code == 400 and {d["field"] for d in refund.json["details"]} == {"reason", "order_line_id"}
    assert client.post(f"{BASE}/orders/99999999999999999999/prepay", headers=me).status_code == 404
