"""Profit sharing (分账) end to end over HTTP and the WeChat Pay sandbox: an order with a
supplier's lines is paid with profit_sharing, the supplier's income is split to its own
merchant account at settlement (money in transit until WeChat Pay says so), a refund
after the split returns the share first, and the ledger stays whole through repeated
and concurrent notifications."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.ledger import service as ledger
from backend.orders import service as orders
from backend.orders.models import Order
from backend.wechat.errors import PayRequestRejected
from backend.wechat.service import gateway, pay_credentials
from tests.orders_factories import RECEIVER
from tests.suppliers_factories import ADMIN, PORTAL

SHOP = "/api/v1/mp/shop"
RECEIVER_MCHID = "1900000109"


def _balances(tenant_id, owner=0):
    with unit_of_work():
        return ledger.balances_of(tenant_id=tenant_id, owner_id=owner)


def _setup(client, factory, sup, shop, *, receiver=RECEIVER_MCHID):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    assert client.patch(f"{ADMIN}/settings", headers=boss, json={"profit_sharing": True}).status_code == 200
    a_headers, a_id = sup.active(t, boss, name="甲茶园")
    b_headers, b_id = sup.active(t, boss, name="乙茶园")
    patched = client.patch(f"{ADMIN}/{a_id}", headers=boss, json={"sharing_receiver": receiver})
    assert patched.status_code == 200, patched.json
    _, a_sku = sup.product(a_headers, boss, price_fen=10000)
    _, b_sku = sup.product(b_headers, boss, price_fen=5000)
    member = factory.member(t)
    buyer = factory.member_headers(member)
    placed = client.post(f"{SHOP}/orders", headers=buyer, json={
        "items": [{"sku_id": a_sku, "quantity": 1}, {"sku_id": b_sku, "quantity": 1}], "receiver": RECEIVER})
    assert placed.status_code == 201
    oid = placed.json["id"]
    assert client.post(f"{SHOP}/orders/{oid}/prepay", headers=buyer).status_code == 200
    order = db.session.get(Order, oid)
    assert order.profit_sharing is True
    (d,) = shop.deliver(shop.sandbox.pay_order(order.order_no))
    assert d.result.status_code == 204
    at = utcnow()
    with unit_of_work():
        orders.ship_order(tenant_id=t.id, order_id=oid, company="顺丰", tracking_no="SF0001", actor="test", now=at)
        orders.complete_order(tenant_id=t.id, order_id=oid, now=at)
    return t, boss, buyer, a_headers, a_id, b_headers, b_id, order, at


def _settle(at):
    from backend.flows.jobs import settle_supplier_income

    return settle_supplier_income(now=at)


def test_the_suppliers_share_is_split_to_its_merchant_account_and_returned_before_a_refund(
        client, factory, sup, shop, sandbox):
    t, boss, buyer, a_headers, a_id, b_headers, b_id, order, at = _setup(client, factory, sup, shop)
    assert sandbox.find_order(order.order_no).profit_sharing is True
    assert _settle(at + timedelta(days=8)) == 2
    # A (with a receiver account) is split; B (none) is settled into its balance.
    split = client.get(f"{ADMIN}/order-split/{order.id}", headers=boss).json["sharing"]
    assert (split["status"], split["shares"]) == ("requested", [
        {"supplier_id": a_id, "account": RECEIVER_MCHID, "amount_fen": 9000, "result": "PENDING"}])
    assert _balances(t.id)["sharing_transit"] == 9000
    assert client.get(f"{PORTAL}/income", headers=b_headers).json["available_fen"] == 4500
    (so,) = [s for s in sandbox.sharing_orders.values() if s.transaction_id == order.transaction_id]
    assert [(r["account"], r["amount"], r["result"]) for r in so.receivers] == [(RECEIVER_MCHID, 9000, "PENDING")]
    # WeChat Pay finishes it; the notification arrives many times, some at once.
    (n,) = sandbox.finish_sharing(so.out_order_no)
    results = shop.deliver(n, times=6, concurrency=3)
    assert {r.result.status_code for r in results} == {204}
    db.session.rollback()  # this thread's snapshot (MariaDB) predates the deliveries' threads
    split = client.get(f"{ADMIN}/order-split/{order.id}", headers=boss).json["sharing"]
    assert (split["status"], split["shares"][0]["result"]) == ("finished", "SUCCESS")
    balances = _balances(t.id)
    assert balances["sharing_transit"] == 0
    a_income = client.get(f"{PORTAL}/income", headers=a_headers).json
    assert (a_income["frozen_fen"], a_income["available_fen"], a_income["by_status"]["settled"]["income_fen"]) == (
        0, 0, 9000)
    # A refund of A's line after the split: the share comes back first, then the refund.
    line_a = client.get(f"{PORTAL}/orders", headers=a_headers).json["items"][0]["lines"][0]["id"]
    asked = client.post(f"{SHOP}/orders/{order.id}/refunds", headers=buyer,
                        json={"order_line_id": line_a, "reason": "破损"})
    approved = client.post(f"{PORTAL}/refunds/{asked.json['id']}/approve", headers=a_headers)
    assert approved.json["status"] == "processing"
    refund = orders.get_refund(tenant_id=t.id, refund_id=asked.json["id"])
    assert refund.submitted_at is not None
    assert sandbox.find_order(order.order_no).shared_fen == 0
    split = client.get(f"{ADMIN}/order-split/{order.id}", headers=boss).json["sharing"]
    assert split["returns"] == [{"supplier_id": a_id, "refund_no": refund.refund_no, "amount_fen": 9000,
                                 "result": "SUCCESS"}]
    refund_n = sandbox.complete_refund(refund.refund_no)
    assert {r.result.status_code for r in shop.deliver(refund_n, times=4, concurrency=2)} == {204}
    db.session.rollback()
    shop.deliver(n, times=2)  # a late repeat of the split's notification changes nothing
    a_income = client.get(f"{PORTAL}/income", headers=a_headers).json
    assert a_income["available_fen"] == 0 and a_income["by_status"]["reversed"]["income_fen"] == 9000
    with unit_of_work():
        report = ledger.check_ledger(tenant_id=t.id)
        assert report.ok, report.as_dict()
    balances = _balances(t.id)
    # In: 15000 paid. Out: 9000 split to A, returned, then 10000 refunded to the buyer.
    assert balances["wechat_clearing"] == -15000 + 10000


def test_a_closed_share_goes_to_the_suppliers_balance_instead(client, factory, sup, shop, sandbox):
    sandbox.closed_receivers.add("1900000999")
    t, boss, _, a_headers, *_rest, order, at = _setup(client, factory, sup, shop, receiver="1900000999")
    _settle(at + timedelta(days=8))
    (so,) = [s for s in sandbox.sharing_orders.values() if s.transaction_id == order.transaction_id]
    (n,) = sandbox.finish_sharing(so.out_order_no)
    shop.deliver(n, times=3)
    assert client.get(f"{PORTAL}/income", headers=a_headers).json["available_fen"] == 9000
    assert client.get(f"{ADMIN}/order-split/{order.id}", headers=boss).json["sharing"]["shares"][0]["result"] == "CLOSED"
    with unit_of_work():
        assert ledger.check_ledger(tenant_id=t.id).ok
        assert ledger.balances_of(tenant_id=t.id, owner_id=0)["sharing_transit"] == 0


def test_splits_above_the_orders_amount_and_to_unknown_receivers_are_refused(client, factory, sup, shop, sandbox):
    t, *_rest, order, at = _setup(client, factory, sup, shop)
    with unit_of_work():
        pay = gateway().pay(pay_credentials(tenant_id=t.id))
    with pytest.raises(PayRequestRejected) as unknown:
        pay.sharing_order(transaction_id=order.transaction_id, out_order_no="PSX00001", unfreeze_unsplit=False,
                          receivers=[("1999999999", 100, "x")])
    assert unknown.value.wechat_code == "RECEIVER_INVALID"
    pay.sharing_add_receiver(account="1888888888")
    with pytest.raises(PayRequestRejected) as too_much:
        pay.sharing_order(transaction_id=order.transaction_id, out_order_no="PSX00002", unfreeze_unsplit=False,
                          receivers=[("1888888888", 15001, "x")])
    assert too_much.value.wechat_code == "NOT_ENOUGH"
    # A refund of a split share without returning it first is refused by WeChat Pay too.
    pay.sharing_order(transaction_id=order.transaction_id, out_order_no="PSX00003", unfreeze_unsplit=False,
                      receivers=[("1888888888", 15000, "x")])
    with pytest.raises(PayRequestRejected) as refund:
        pay.refund(out_refund_no="RFX0000001", refund_fen=100, total_fen=15000, out_trade_no=order.order_no)
    assert refund.value.wechat_code == "NOT_ENOUGH"
    # The product's own split of that order is then refused: its shares go to the balance.
    boss, a_headers = _rest[0], _rest[2]
    _settle(at + timedelta(days=8))
    split = client.get(f"{ADMIN}/order-split/{order.id}", headers=boss).json["sharing"]
    assert (split["status"], split["shares"][0]["result"]) == ("failed", "CLOSED")
    assert "NOT_ENOUGH" in split["last_error"]
    assert client.get(f"{PORTAL}/income", headers=a_headers).json["available_fen"] == 9000
    with unit_of_work():
        assert ledger.check_ledger(tenant_id=t.id).ok
        assert ledger.balances_of(tenant_id=t.id, owner_id=0)["sharing_transit"] == 0


def test_nothing_left_to_split_unfreezes_the_rest_of_the_payment(client, factory, sup, shop, sandbox):
    t = factory.tenant("sharing-unfreeze")
    boss = factory.staff_headers(factory.staff(t, "boss"))
    client.patch(f"{ADMIN}/settings", headers=boss, json={"profit_sharing": True})
    a_headers, a_id = sup.active(t, boss)
    client.patch(f"{ADMIN}/{a_id}", headers=boss, json={"sharing_receiver": RECEIVER_MCHID})
    _, a_sku = sup.product(a_headers, boss, price_fen=10000)
    _, own_sku = shop.product(t, price_fen=3000)
    member = factory.member(t)
    buyer = factory.member_headers(member)
    placed = client.post(f"{SHOP}/orders", headers=buyer, json={
        "items": [{"sku_id": a_sku, "quantity": 1}, {"sku_id": own_sku, "quantity": 1}], "receiver": RECEIVER})
    oid = placed.json["id"]
    client.post(f"{SHOP}/orders/{oid}/prepay", headers=buyer)
    shop.deliver(sandbox.pay_order(db.session.get(Order, oid).order_no))
    db.session.rollback()
    line_a = client.get(f"{PORTAL}/orders", headers=a_headers).json["items"][0]["lines"][0]["id"]
    refund = client.post(f"/api/v1/admin/shop/orders/{oid}/refunds", headers=boss,
                         json={"order_line_id": line_a, "reason": "缺货"})
    assert refund.status_code == 201
    shop.deliver(sandbox.complete_refund(refund.json["refund_no"]))
    db.session.rollback()
    order = db.session.get(Order, oid)
    assert sandbox.find_order(order.order_no).unfrozen is True
    split = client.get(f"{ADMIN}/order-split/{oid}", headers=boss).json["sharing"]
    assert (split["status"], split["shares"]) == ("unfrozen", [])
    with unit_of_work():
        assert ledger.check_ledger(tenant_id=t.id).ok


def test_a_receiver_removed_before_settlement_is_paid_by_balance_and_the_payment_unfrozen(
        client, factory, sup, shop, sandbox):
    t, boss, _, a_headers, a_id, _, _, order, at = _setup(client, factory, sup, shop)
    assert client.patch(f"{ADMIN}/{a_id}", headers=boss, json={"sharing_receiver": None}).status_code == 200
    assert _settle(at + timedelta(days=8)) == 2
    assert client.get(f"{PORTAL}/income", headers=a_headers).json["available_fen"] == 9000
    split = client.get(f"{ADMIN}/order-split/{order.id}", headers=boss).json["sharing"]
    assert (split["status"], split["shares"]) == ("unfrozen", [])
    assert sandbox.find_order(order.order_no).unfrozen is True
    with unit_of_work():
        assert ledger.check_ledger(tenant_id=t.id).ok
