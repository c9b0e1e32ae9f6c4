"""Buying a level (等级礼包, SPEC §4.4): a product flagged with the agent level it grants
raises its buyer once the order is paid; a refund within the after-sales window takes
it back; a buyer already at or above the level keeps what it had."""

from __future__ import annotations

from typing import Any

import pytest

from backend.members import service as members
from backend.orders import service as orders_service
from backend.rewards import service as rewards
from tests.orders_factories import OrdersFactory

BASE = "/api/v1/admin/shop"
PLAN = {"name": "代理方案", "agents": {"mode": "fixed", "base": "profit", "levels": [
    {"key": "l3", "name": "三级代理", "rate": "5%"}, {"key": "l2", "name": "二级代理", "rate": "7%"},
    {"key": "l1", "name": "一级代理", "rate": "10%"}]}}


@pytest.fixture()
def orders(app: Any, sandbox: Any) -> OrdersFactory:
    return OrdersFactory(app, sandbox)


def _package(client: Any, boss: dict[str, str], level: str = "l2") -> tuple[int, int]:
    resp = client.post(f"{BASE}/products", headers=boss, json={
        "name": "二级代理礼包", "on_shelf": True, "grants_level": level,
        "skus": [{"name": "礼包", "price_fen": 199_900, "cost_fen": 100_000, "stock": 10}]})
    assert resp.status_code == 201, resp.json
    assert resp.json["grants_level"] == level
    return resp.json["id"], resp.json["skus"][0]["id"]


def _level(tenant: Any, m: Any) -> str | None:
    return members.get_member(tenant_id=tenant.id, member_id=m.id).agent_level


def test_paying_for_a_level_package_raises_the_buyer_and_a_refund_takes_it_back(
        client: Any, factory: Any, orders: OrdersFactory, sandbox: Any) -> None:
    tenant = factory.tenant()
    orders.plan(tenant, PLAN)
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    _, sku = _package(client, boss)
    buyer = factory.member(tenant)
    order = orders.paid_order(tenant, buyer, [(sku, 1)])
    assert _level(tenant, buyer) == "l2"
    history = rewards.level_history(tenant_id=tenant.id, member_id=buyer.id)
    assert [(h.old_value, h.new_value, h.source, h.actor) for h in history] == [
        (None, "l2", "bought", f"order:{order.id}")]

    refund = client.post(f"{BASE}/orders/{order.id}/refunds", headers=boss, json={"reason": "不做代理了"})
    assert refund.status_code == 201
    orders.deliver(sandbox.complete_refund(refund.json["refund_no"]))
    assert _level(tenant, buyer) is None
    assert rewards.level_history(tenant_id=tenant.id, member_id=buyer.id)[0].source == "refund"
    audit = client.get("/api/v1/admin/audit?target_type=member", headers=boss).json["items"]
    assert {"rewards.buy_level", "rewards.revoke_bought_level"} <= {a["action"] for a in audit}


def test_a_buyer_already_above_the_package_keeps_its_level(client: Any, factory: Any,
                                                           orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    orders.plan(tenant, PLAN)
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    _, sku = _package(client, boss, "l3")
    buyer = factory.member(tenant)
    client.put(f"/api/v1/admin/rewards/members/{buyer.id}/level", json={"agent_level": "l1"}, headers=boss)
    orders.paid_order(tenant, buyer, [(sku, 1)])
    assert _level(tenant, buyer) == "l1"


def test_a_package_for_a_level_the_plan_lacks_is_refused(client: Any, factory: Any, orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    orders.plan(tenant, PLAN)
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    resp = client.post(f"{BASE}/products", headers=boss, json={
        "name": "礼包", "grants_level": "l9", "skus": [{"name": "礼包", "price_fen": 100, "stock": 1}]})
    assert resp.status_code == 400 and resp.json["details"][0]["field"] == "grants_level"


def test_a_package_bought_while_the_tenant_has_no_plan_is_just_a_purchase(
        client: Any, factory: Any, orders: OrdersFactory) -> None:
    tenant = factory.tenant()  # no reward plan: no level keys to check against, none to grant
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    _, sku = _package(client, boss, "l2")
    buyer = factory.member(tenant)
    order = orders.paid_order(tenant, buyer, [(sku, 1)])
    assert orders_service.get_order(tenant_id=tenant.id, order_id=order.id).status == "paid"
    assert _level(tenant, buyer) is None


def test_a_money_only_refund_leaves_the_package_and_its_level_with_the_buyer(
        client: Any, factory: Any, orders: OrdersFactory, sandbox: Any) -> None:
    from backend.db import unit_of_work, utcnow
    from backend.payments import service as payments

    tenant = factory.tenant()
    orders.plan(tenant, PLAN)
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    _, sku = _package(client, boss)
    buyer = factory.member(tenant)
    order = orders.paid_order(tenant, buyer, [(sku, 1)])
    assert _level(tenant, buyer) == "l2"
    with unit_of_work():
        refund = payments.refund_order(tenant_id=tenant.id, order_id=order.id, order_line_id=None,
                                       reason="拼团成团，团长免单", actor="system:group_buy", now=utcnow(),
                                       keeps_goods=True)
    orders.deliver(sandbox.complete_refund(refund.refund_no))
    detail = client.get(f"{BASE}/orders/{order.id}", headers=boss).json
    assert (detail["status"], detail["refunded_fen"]) == ("paid", 199_900)
    assert _level(tenant, buyer) == "l2"
