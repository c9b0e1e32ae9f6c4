"""The back-office shop over HTTP: products and SKUs, stock, shipping, refunds with
WeChat Pay, payment issues and the order timings; roles and malformed input."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.extensions import db

BASE = "/api/v1/admin/shop"
PRODUCT = {"name": "明前龙井", "on_shelf": True,
           "skus": [{"name": "250g", "price_fen": 12800, "cost_fen": 5000, "stock": 10}]}


def test_an_operator_manages_products_skus_and_stock(client, factory):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "operator"))
    created = client.post(f"{BASE}/products", headers=boss, json=PRODUCT)
    assert created.status_code == 201, created.json
    pid, sku = created.json["id"], created.json["skus"][0]["id"]
    patched = client.patch(f"{BASE}/products/{pid}", headers=boss, json={"subtitle": "春茶", "on_shelf": False})
    assert (patched.json["subtitle"], patched.json["on_shelf"]) == ("春茶", False)
    added = client.post(f"{BASE}/products/{pid}/skus", headers=boss,
                        json={"name": "500g", "price_fen": 23800, "cost_fen": 9000, "stock": 2})
    assert added.status_code == 201
    assert client.patch(f"{BASE}/skus/{sku}", headers=boss, json={"price_fen": 11800}).json["price_fen"] == 11800
    assert client.post(f"{BASE}/skus/{sku}/stock", headers=boss, json={"delta": -4}).json["stock"] == 6
    short = client.post(f"{BASE}/skus/{sku}/stock", headers=boss, json={"delta": -7})
    assert (short.status_code, short.json["code"]) == (409, "stock_negative")
    listing = client.get(f"{BASE}/products", headers=boss).json["items"]
    assert [[s["name"] for s in p["skus"]] for p in listing] == [["250g", "500g"]]
    actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("catalog.%"))
                                      .order_by(AuditLog.id)))
    assert actions == ["catalog.product_create", "catalog.product_update", "catalog.sku_create",
                       "catalog.sku_update", "catalog.stock_adjust"]


@pytest.mark.parametrize("patch, field", [
    ({"skus": [{"name": "a", "price_fen": 12.5}]}, "skus[0].price_fen"),
    ({"skus": [{"name": "a", "price_fen": "100"}]}, "skus[0].price_fen"),
    ({"skus": [{"name": "a", "price_fen": 0}]}, "skus[0].price_fen"),
    ({"skus": [{"name": "a", "price_fen": 100, "cost_fen": -1}]}, "skus[0].cost_fen"),
    ({"skus": [{"name": "a", "price_fen": 100, "level_prices": {"l1": 0.5}}]}, "skus[0].level_prices.l1"),
    ({"skus": []}, "skus"),
    ({"name": ""}, "name"),
])
def test_malformed_products_are_refused_with_the_field_named(client, factory, patch, field):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    resp = client.post(f"{BASE}/products", headers=boss, json={**PRODUCT, **patch})
    assert resp.status_code == 400 and resp.json["code"] == "validation_failed"
    assert field in [d["field"] for d in resp.json["details"]]


def test_staff_without_a_manager_role_can_read_but_not_write(client, factory):
    t = factory.tenant()
    clerk = factory.staff_headers(factory.staff(t, "sales"))
    assert client.get(f"{BASE}/products", headers=clerk).status_code == 200
    resp = client.post(f"{BASE}/products", headers=clerk, json=PRODUCT)
    assert (resp.status_code, resp.json["code"]) == (403, "role_forbidden")


def test_an_operator_ships_and_refunds_through_wechat_pay(client, factory, shop, sandbox):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    buyer = factory.member(t)
    _, sku = shop.product(t, price_fen=9900)
    order = shop.paid_order(t, buyer, [(sku, 1)])
    bad = client.post(f"{BASE}/orders/{order.id}/ship", headers=boss, json={"company": "顺丰", "tracking_no": "x"})
    assert bad.status_code == 400
    shipped = client.post(f"{BASE}/orders/{order.id}/ship", headers=boss,
                          json={"company": "顺丰速运", "tracking_no": "SF1234567890"})
    assert shipped.json["status"] == "shipped" and shipped.json["logistics"]["tracking_no"] == "SF1234567890"
    refund = client.post(f"{BASE}/orders/{order.id}/refunds", headers=boss, json={"reason": "客户退货"})
    assert refund.status_code == 201 and refund.json["status"] == "processing"
    shop.deliver(sandbox.complete_refund(refund.json["refund_no"]))
    detail = client.get(f"{BASE}/orders/{order.id}", headers=boss).json
    assert (detail["status"], detail["refunded_fen"]) == ("refunded", 9900)
    assert [r["status"] for r in detail["refunds"]] == ["succeeded"]


def test_refund_requests_are_approved_or_rejected_by_the_operator(client, factory, shop, sandbox):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    buyer = factory.member(t)
    _, sku = shop.product(t)
    first, second = (shop.paid_order(t, buyer, [(sku, 1)]) for _ in range(2))
    member = factory.member_headers(buyer)
    ids = [client.post(f"/api/v1/mp/shop/orders/{o.id}/refunds", headers=member, json={"reason": "不要了"}).json["id"]
           for o in (first, second)]
    waiting = client.get(f"{BASE}/refunds?status=requested", headers=boss).json["items"]
    assert sorted(r["id"] for r in waiting) == sorted(ids)
    approved = client.post(f"{BASE}/refunds/{ids[0]}/approve", headers=boss)
    assert approved.json["status"] == "processing"
    rejected = client.post(f"{BASE}/refunds/{ids[1]}/reject", headers=boss, json={"note": "已超售后期"})
    assert rejected.json["status"] == "rejected"
    assert client.post(f"{BASE}/refunds/{ids[1]}/approve", headers=boss).json["code"] == "refund_state_conflict"
    assert client.get(f"/api/v1/mp/shop/orders/{second.id}", headers=member).json["status"] == "paid"


def test_payment_issues_are_listed_and_resolved(client, factory, shop):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    buyer = factory.member(t)
    _, sku = shop.product(t, price_fen=5000)
    order = shop.order(t, buyer, [(sku, 1)])
    shop.deliver(shop.payment(t, buyer, order, paid_fen=4999))
    (issue,) = client.get(f"{BASE}/payment-issues", headers=boss).json["items"]
    assert (issue["kind"], issue["expected_fen"], issue["reported_fen"]) == ("amount_mismatch", 5000, 4999)
    done = client.post(f"{BASE}/payment-issues/{issue['id']}/resolve", headers=boss,
                       json={"resolution": "已联系微信支付核实"})
    assert done.json["resolved_by"].startswith("staff:")
    assert client.get(f"{BASE}/payment-issues", headers=boss).json["items"] == []
    assert len(client.get(f"{BASE}/payment-issues?open_only=false", headers=boss).json["items"]) == 1


def test_order_timings_are_read_and_changed_within_bounds(client, factory):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    no_freight = {"freight_fen": 0, "free_freight_over_fen": None, "freight_by_region": {},
                  "freight_refund": "unshipped"}
    assert client.get(f"{BASE}/order-policy", headers=boss).json == {"pay_timeout_minutes": 30,
                                                                      "auto_complete_days": 10, **no_freight}
    changed = client.patch(f"{BASE}/order-policy", headers=boss, json={"pay_timeout_minutes": 15})
    assert changed.json == {"pay_timeout_minutes": 15, "auto_complete_days": 10, **no_freight}
    assert client.patch(f"{BASE}/order-policy", headers=boss, json={"auto_complete_days": 0}).status_code == 400
    assert client.patch(f"{BASE}/order-policy", headers=boss, json={"auto_complete_days": "7"}).status_code == 400


def test_another_tenants_orders_and_products_are_not_found(client, factory, shop):
    t, other = factory.tenant(), factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    pid, sku = shop.product(other)
    order = shop.order(other, factory.member(other), [(sku, 1)])
    assert client.get(f"{BASE}/products/{pid}", headers=boss).status_code == 404
    assert client.get(f"{BASE}/orders/{order.id}", headers=boss).status_code == 404
    assert client.post(f"{BASE}/orders/{order.id}/refunds", headers=boss, json={"reason": "x"}).status_code == 404
    assert client.post(f"{BASE}/skus/{sku}/stock", headers=boss, json={"delta": 1}).status_code == 404
