"""Member (VIP) levels: a level's discount shows on product pages and applies at
checkout, so the order line, and the rewards on it, carry the discounted price."""

from __future__ import annotations

from typing import Any

import pytest

from tests.orders_factories import RECEIVER, OrdersFactory


@pytest.fixture()
def orders(app: Any, sandbox: Any) -> OrdersFactory:
    return OrdersFactory(app, sandbox)


def test_a_members_level_discount_shows_on_the_product_and_applies_at_checkout(
        client: Any, factory: Any, orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    product_id, sku_id = orders.product(tenant, price_fen=10_001)
    put = client.put("/api/v1/admin/member-levels", headers=boss, json={"levels": [
        {"level": 1, "name": "银卡会员", "discount_rate": "0.98"},
        {"level": 2, "name": "金卡会员", "discount_rate": "0.95"}]})
    assert put.status_code == 200 and put.json["items"][1]["discount_text"].startswith("9.5折")
    vip = factory.member(tenant)
    plain = factory.member(tenant)
    moved = client.patch(f"/api/v1/admin/members/{vip.id}", json={"member_level": 2}, headers=boss)
    assert moved.status_code == 200

    seen = client.get(f"/api/v1/mp/shop/products/{product_id}", headers=factory.member_headers(vip)).json
    assert (seen["skus"][0]["price_fen"], seen["skus"][0]["retail_price_fen"]) == (9_500, 10_001)  # rounded down
    assert client.get(f"/api/v1/mp/shop/products/{product_id}",
                      headers=factory.member_headers(plain)).json["skus"][0]["price_fen"] == 10_001

    placed = client.post("/api/v1/mp/shop/orders", headers=factory.member_headers(vip),
                         json={"items": [{"sku_id": sku_id, "quantity": 2}], "receiver": RECEIVER})
    assert placed.status_code == 201, placed.json
    assert placed.json["payable_fen"] == 19_000
    assert placed.json["lines"][0]["unit_price_fen"] == 9_500


def test_an_agents_level_price_wins_over_a_member_discount(client: Any, factory: Any,
                                                           orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    orders.plan(tenant, {"name": "代理", "agents": {"mode": "fixed", "base": "profit", "levels": [
        {"key": "l1", "name": "一级代理", "rate": "10%"}]}})
    product_id, _ = orders.product(tenant, price_fen=10_000, level_prices={"l1": 7_000})
    client.put("/api/v1/admin/member-levels", headers=boss,
               json={"levels": [{"level": 1, "name": "金卡会员", "discount_rate": "0.9"}]})
    agent = factory.member(tenant)
    client.patch(f"/api/v1/admin/members/{agent.id}", json={"member_level": 1}, headers=boss)
    client.put(f"/api/v1/admin/rewards/members/{agent.id}/level", json={"agent_level": "l1"}, headers=boss)
    seen = client.get(f"/api/v1/mp/shop/products/{product_id}", headers=factory.member_headers(agent)).json
    assert seen["skus"][0]["price_fen"] == 7_000


def test_bad_levels_are_refused_and_change_nothing(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    sales = factory.staff_headers(factory.staff(tenant, "sales"))
    client.put("/api/v1/admin/member-levels", headers=boss,
               json={"levels": [{"level": 1, "name": "金卡会员", "discount_rate": "0.9"}]})
    for body in ({"levels": [{"level": 1, "name": "A", "discount_rate": "0.05"}]},
                 {"levels": [{"level": 1, "name": "A", "discount_rate": "0.9"},
                             {"level": 1, "name": "B", "discount_rate": "0.8"}]}):
        resp = client.put("/api/v1/admin/member-levels", headers=boss, json=body)
        assert resp.status_code == 400 and resp.json["code"] == "validation_failed"
    assert client.put("/api/v1/admin/member-levels", headers=sales, json={"levels": []}).status_code == 403
    assert [x["name"] for x in client.get("/api/v1/admin/member-levels", headers=boss).json["items"]] == ["金卡会员"]
