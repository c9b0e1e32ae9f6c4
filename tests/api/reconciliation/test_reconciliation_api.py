"""Daily reconciliation: the sandbox's trade and fund-flow bills (signed answers, SHA1,
gzip) against the ledger; matched days, and the differences an operator sees when a
payment never reached the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.db import utcnow
from backend.finance.rules import CHINA
from backend.flows import reconciliation
from tests.orders_factories import OrdersFactory

BASE = "/api/v1/admin/reconciliation"


@pytest.fixture()
def shop(app, sandbox):
    return OrdersFactory(app, sandbox)


def test_a_day_whose_bills_match_the_ledger_has_no_differences(client, factory, shop, sandbox):
    t = factory.tenant("recon-match")  # its own merchant: the sandbox outlives a test
    boss = factory.staff_headers(factory.staff(t, "boss"))
    buyer = factory.member(t)
    _, sku = shop.product(t, price_fen=9900)
    shop.paid_order(t, buyer, [(sku, 1)])
    second = shop.paid_order(t, buyer, [(sku, 2)])
    refund = client.post(f"/api/v1/admin/shop/orders/{second.id}/refunds", headers=boss, json={"reason": "缺货"})
    shop.deliver(sandbox.complete_refund(refund.json["refund_no"]))
    now = utcnow()
    today = now.astimezone(CHINA).date()
    assert reconciliation.reconcile_day(tenant_id=t.id, day=today, now=now + timedelta(days=1)) == "matched"
    (run,) = client.get(f"{BASE}/runs", headers=boss).json["items"]
    # 9900 + 19800 in, 19800 back out: the same net on both sides.
    assert (run["status"], run["trade_rows"], run["fund_rows"], run["bill_net_fen"], run["ledger_net_fen"]) == (
        "matched", 3, 3, 9900, 9900)
    assert client.get(f"{BASE}/differences", headers=boss).json["items"] == []


def test_a_payment_missing_from_the_ledger_is_listed_and_resolved_by_the_operator(client, factory, shop, sandbox):
    t = factory.tenant("recon-miss")
    boss = factory.staff_headers(factory.staff(t, "operator"))
    buyer = factory.member(t)
    _, sku = shop.product(t, price_fen=5000)
    shop.paid_order(t, buyer, [(sku, 1)])
    lost = shop.order(t, buyer, [(sku, 1)])
    late = shop.payment(t, buyer, lost)  # paid at WeChat Pay; the notification does not arrive (yet)
    now = utcnow()
    today = now.astimezone(CHINA).date()
    refused = client.post(f"{BASE}/runs", headers=boss, json={"bill_date": today.isoformat()})
    assert (refused.status_code, refused.json["code"]) == (400, "validation_failed")
    assert reconciliation.reconcile_day(tenant_id=t.id, day=today, now=now + timedelta(days=1)) == "differences"
    diffs = client.get(f"{BASE}/differences", headers=boss).json["items"]
    assert sorted((d["kind"], d["ref"], d["bill_fen"], d["ledger_fen"]) for d in diffs) == [
        ("fund_flow_total", today.isoformat(), 10000, 5000), ("missing_in_ledger", lost.order_no, 5000, None)]
    # Run again: the same differences, not listed twice.
    reconciliation.reconcile_day(tenant_id=t.id, day=today, now=now + timedelta(days=1))
    assert len(client.get(f"{BASE}/differences", headers=boss).json["items"]) == 2
    d = next(d for d in diffs if d["kind"] == "missing_in_ledger")
    done = client.post(f"{BASE}/differences/{d['id']}/resolve", headers=boss, json={"resolution": "已补单"})
    assert done.json["status"] == "resolved"
    again = client.post(f"{BASE}/differences/{d['id']}/resolve", headers=boss, json={"resolution": "x"})
    assert (again.status_code, again.json["code"]) == (409, "difference_resolved")
    other = factory.tenant()
    other_boss = factory.staff_headers(factory.staff(other, "boss"))
    assert client.post(f"{BASE}/differences/{d['id']}/resolve", headers=other_boss,
                       json={"resolution": "x"}).status_code == 404
    assert client.get(f"{BASE}/differences", headers=other_boss).json["items"] == []
    (d,) = shop.deliver(late)  # it does arrive: nothing is left pending in the shared sandbox
    assert d.result.status_code == 204
