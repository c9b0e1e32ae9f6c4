"""Paying an order with stored value (in whole, or mixed with WeChat Pay) and offline
with a voucher; refunds and cancellations give each part back the way it came, all
through the ledger (SPEC §5, §6)."""

from __future__ import annotations

from typing import Any

import pytest

from backend.orders import service as orders_service
from tests.finance_factories import assert_ledger_balanced, balances, give_stored
from tests.orders_factories import RECEIVER, OrdersFactory

SHOP = "/api/v1/mp/shop"
ADMIN = "/api/v1/admin/shop"


@pytest.fixture()
def orders(app: Any, sandbox: Any) -> OrdersFactory:
    return OrdersFactory(app, sandbox)


def _place(client: Any, headers: dict[str, str], sku: int, quantity: int = 1) -> dict[str, Any]:
    resp = client.post(f"{SHOP}/orders", headers=headers,
                       json={"items": [{"sku_id": sku, "quantity": quantity}], "receiver": RECEIVER})
    assert resp.status_code == 201, resp.json
    return resp.json


def test_stored_value_pays_a_whole_order_and_a_refund_returns_it(
        client: Any, factory: Any, orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    orders.plan(tenant)
    promoter = factory.member(tenant)
    buyer = factory.member(tenant, parent=promoter)
    me = factory.member_headers(buyer)
    _, sku = orders.product(tenant, price_fen=15_000, cost_fen=5_000)
    give_stored(tenant, buyer, 20_000)
    order = _place(client, me, sku)

    paid = client.post(f"{SHOP}/orders/{order['id']}/pay-stored", headers=me, json={})
    assert paid.status_code == 200 and paid.json["paid"] is True and paid.json["wechat_due_fen"] == 0
    detail = client.get(f"{SHOP}/orders/{order['id']}", headers=me).json
    assert (detail["status"], detail["stored_fen"], detail["paid_fen"]) == ("paid", 15_000, 0)
    assert balances(tenant, buyer)["stored"] == 5_000
    assert balances(tenant, promoter)["frozen"] == 3_000  # rewards as for any paid order
    again = client.post(f"{SHOP}/orders/{order['id']}/pay-stored", headers=me, json={})
    assert again.status_code == 409

    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    refund = client.post(f"{ADMIN}/orders/{order['id']}/refunds", headers=boss, json={"reason": "退货"})
    assert refund.status_code == 201
    # submitted once committed; with no WeChat Pay part there is nothing to wait for
    (done,) = client.get(f"{ADMIN}/orders/{order['id']}", headers=boss).json["refunds"]
    assert (done["status"], done["stored_fen"]) == ("succeeded", 15_000)
    assert balances(tenant, buyer)["stored"] == 20_000 and balances(tenant, promoter)["frozen"] == 0
    assert_ledger_balanced(tenant)


def test_stored_value_and_wechat_pay_share_an_order(client: Any, factory: Any, orders: OrdersFactory,
                                                    sandbox: Any) -> None:
    tenant = factory.tenant()
    buyer = factory.member(tenant)
    me = factory.member_headers(buyer)
    _, sku = orders.product(tenant, price_fen=10_000)
    give_stored(tenant, buyer, 3_000)
    order = _place(client, me, sku)
    too_much = client.post(f"{SHOP}/orders/{order['id']}/pay-stored", headers=me, json={"amount_fen": 5_000})
    assert too_much.status_code == 409 and too_much.json["code"] == "insufficient_balance"
    assert balances(tenant, buyer)["stored"] == 3_000  # nothing changed
    part = client.post(f"{SHOP}/orders/{order['id']}/pay-stored", headers=me, json={"amount_fen": 3_000}).json
    assert (part["paid"], part["wechat_due_fen"]) == (False, 7_000)
    prepay = client.post(f"{SHOP}/orders/{order['id']}/prepay", headers=me).json
    assert prepay["amount_fen"] == 7_000 and prepay["stored_fen"] == 3_000
    (d,) = orders.deliver(sandbox.pay_order(order["order_no"]))
    assert d.result.status_code == 204
    detail = client.get(f"{SHOP}/orders/{order['id']}", headers=me).json
    assert (detail["status"], detail["paid_fen"], detail["stored_fen"]) == ("paid", 7_000, 3_000)

    # A whole refund: WeChat Pay's 70 元 first, then the 30 元 back to stored value.
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    refund = client.post(f"{ADMIN}/orders/{order['id']}/refunds", headers=boss, json={"reason": "退货"}).json
    (sent,) = client.get(f"{ADMIN}/orders/{order['id']}", headers=boss).json["refunds"]
    assert (sent["status"], sent["stored_fen"], sent["amount_fen"]) == ("processing", 3_000, 10_000)
    assert balances(tenant, buyer)["stored"] == 0  # back only once WeChat Pay confirms its part
    orders.deliver(sandbox.complete_refund(refund["refund_no"]))
    assert balances(tenant, buyer)["stored"] == 3_000
    assert client.get(f"{SHOP}/orders/{order['id']}", headers=me).json["status"] == "refunded"
    assert_ledger_balanced(tenant)


def test_an_unpaid_order_cancelled_gives_its_stored_value_back(client: Any, factory: Any,
                                                               orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    buyer = factory.member(tenant)
    me = factory.member_headers(buyer)
    _, sku = orders.product(tenant, price_fen=10_000)
    give_stored(tenant, buyer, 4_000)
    order = _place(client, me, sku)
    client.post(f"{SHOP}/orders/{order['id']}/pay-stored", headers=me, json={"amount_fen": 4_000})
    assert balances(tenant, buyer)["stored"] == 0
    assert client.post(f"{SHOP}/orders/{order['id']}/cancel", headers=me).status_code == 200
    assert balances(tenant, buyer)["stored"] == 4_000
    assert_ledger_balanced(tenant)


def test_finance_marks_an_order_paid_offline_with_a_voucher(client: Any, factory: Any,
                                                            orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    orders.plan(tenant)
    promoter = factory.member(tenant)
    buyer = factory.member(tenant, parent=promoter)
    _, sku = orders.product(tenant, price_fen=15_000, cost_fen=5_000)
    order = _place(client, factory.member_headers(buyer), sku)
    finance_staff = factory.staff_headers(factory.staff(tenant, "finance"))
    sales = factory.staff_headers(factory.staff(tenant, "sales"))
    body = {"reference": "ICBC-20261205-001", "voucher_url": "https://img.example.com/v/1.png"}
    assert client.post(f"{ADMIN}/orders/{order['id']}/offline-payment", headers=sales, json=body).status_code == 403
    bad = client.post(f"{ADMIN}/orders/{order['id']}/offline-payment", headers=finance_staff,
                      json={"reference": "x"})
    assert bad.status_code == 400
    paid = client.post(f"{ADMIN}/orders/{order['id']}/offline-payment", headers=finance_staff, json=body)
    assert paid.status_code == 200, paid.json
    assert (paid.json["status"], paid.json["offline_fen"], paid.json["offline_reference"]) == (
        "paid", 15_000, "ICBC-20261205-001")
    assert balances(tenant, promoter)["frozen"] == 3_000  # flows as any paid order
    twice = client.post(f"{ADMIN}/orders/{order['id']}/offline-payment", headers=finance_staff, json=body)
    assert twice.status_code == 409
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    audit = client.get(f"/api/v1/admin/audit?target_type=order&target_id={order['id']}", headers=boss).json
    assert "order.offline_payment" in {a["action"] for a in audit["items"]}
    assert client.post(f"{ADMIN}/orders/{order['id']}/refunds", headers=boss,
                       json={"reason": "退款"}).status_code == 201
    (done,) = client.get(f"{ADMIN}/orders/{order['id']}", headers=boss).json["refunds"]
    assert (done["status"], done["offline_fen"]) == ("succeeded", 15_000)
    assert orders_service.get_order(tenant_id=tenant.id, order_id=order["id"]).status == "refunded"
    assert_ledger_balanced(tenant)
