"""Freight (运费): the brand's rule (flat, by province, 满额包邮) charged in the order
total through either order route, shown at checkout and on the order, paid like the
rest, waived by a free-shipping coupon that the best-coupon choice weighs, kept out of
the reward base, and given back by the tenant's refund rule."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.ledger.models import Entry, Posting
from backend.marketing import coupons
from backend.orders import service as orders
from backend.orders.models import Order, Refund
from backend.payments import service as payments
from backend.rewards.models import Payout
from tests.marketing_factories import coupon
from tests.orders_factories import RECEIVER

POLICY = "/api/v1/admin/shop/order-policy"
XINJIANG = {"name": "李四", "phone": "13900139000", "address": "新疆维吾尔自治区乌鲁木齐市天山区 8 号"}


def _rule(client: Any, factory: Any, t: Any, **rule: Any) -> Any:
    boss = factory.staff_headers(factory.staff(t, "boss"))
    resp = client.patch(POLICY, headers=boss, json=rule)
    assert resp.status_code == 200, resp.json
    return resp.json


def _order(client: Any, factory: Any, buyer: Any, items: list[tuple[int, int]], route: str = "/api/v1/mp/shop/orders",
           **extra: Any) -> Any:
    body = {"items": [{"sku_id": s, "quantity": q} for s, q in items], "receiver": RECEIVER, **extra}
    return client.post(route, headers=factory.member_headers(buyer), json=body)


def _pay(shop: Any, t: Any, buyer: Any, order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    (d,) = shop.deliver(shop.payment(t, buyer, order))
    assert d.result.status_code == 204, d.result.body
    db.session.expire_all()
    return db.session.get(Order, order_id)


def _refund(shop: Any, sandbox: Any, t: Any, order_id: int, line_id: int | None) -> Refund:
    with unit_of_work():
        refund = payments.refund_order(tenant_id=t.id, order_id=order_id, order_line_id=line_id, reason="不想要了",
                                       actor="staff:1", now=utcnow())
    (d,) = shop.deliver(sandbox.complete_refund(refund.refund_no))
    assert d.result.status_code == 204, d.result.body
    db.session.expire_all()
    return db.session.scalar(select(Refund).where(Refund.refund_no == refund.refund_no))


def test_the_brand_sets_a_freight_rule_and_bad_rules_change_nothing(client, factory):
    t = factory.tenant()
    rule = _rule(client, factory, t, freight_fen=800, free_freight_over_fen=9900,
                 freight_by_region={"新疆": 2000, "西藏": 2500}, freight_refund="always")
    assert (rule["freight_fen"], rule["free_freight_over_fen"], rule["freight_by_region"], rule["freight_refund"]) == (
        800, 9900, {"新疆": 2000, "西藏": 2500}, "always")
    audit = db.session.scalars(select(AuditLog).where(AuditLog.tenant_id == t.id,
                                                      AuditLog.action == "orders.policy")).all()
    assert len(audit) == 1 and audit[0].after["freight_fen"] == 800
    boss = factory.staff_headers(factory.staff(t, "boss"))
    bad = client.patch(POLICY, headers=boss, json={"freight_fen": 500, "freight_by_region": {"x": 100}})
    assert bad.status_code == 400 and bad.json["code"] == "invalid_order_input"
    assert bad.json["details"][0]["field"] == "freight_by_region.x"
    assert client.patch(POLICY, headers=boss, json={"freight_fen": -1}).status_code == 400
    assert client.patch(POLICY, headers=boss, json={"freight_refund": "sometimes"}).status_code == 400
    assert client.get(POLICY, headers=boss).json["freight_fen"] == 800
    # 0 turns 满额包邮 off.
    assert _rule(client, factory, t, free_freight_over_fen=0)["free_freight_over_fen"] is None


def test_freight_is_charged_by_the_rule_and_paid_with_the_order_but_never_rewarded(client, factory, shop):
    t = factory.tenant()
    shop.plan(t)
    promoter = factory.member(t)
    buyer = factory.member(t, parent=promoter)
    _, tea = shop.product(t, price_fen=5000, cost_fen=2000)
    _rule(client, factory, t, freight_fen=800, free_freight_over_fen=10000, freight_by_region={"新疆": 2000})
    h = factory.member_headers(buyer)
    items = [{"sku_id": tea, "quantity": 1}]

    quote = client.post("/api/v1/mp/checkout/quote", headers=h, json={"items": items}).json
    assert (quote["goods_fen"], quote["freight_fen"], quote["payable_fen"]) == (5000, 800, 5800)
    far = client.post("/api/v1/mp/checkout/quote", headers=h, json={"items": items,
                                                                      "address": XINJIANG["address"]}).json
    assert (far["freight_fen"], far["payable_fen"]) == (2000, 7000)
    free = client.post("/api/v1/mp/checkout/quote", headers=h, json={"items": [{"sku_id": tea, "quantity": 2}]}).json
    assert (free["freight_fen"], free["payable_fen"]) == (0, 10000)  # 满 100 包邮

    placed = _order(client, factory, buyer, [(tea, 1)])
    assert placed.status_code == 201, placed.json
    body = placed.json
    assert (body["goods_fen"], body["freight_fen"], body["freight_discount_fen"], body["payable_fen"]) == (
        5000, 800, 0, 5800)
    assert [ln["paid_fen"] for ln in body["lines"]] == [5000]
    remote = _order(client, factory, buyer, [(tea, 1)], receiver=XINJIANG).json
    assert (remote["freight_fen"], remote["payable_fen"]) == (2000, 7000)

    order = _pay(shop, t, buyer, body["id"])
    assert (order.paid_fen, order.payable_fen) == (5800, 5800)
    # The payment's posting carries the freight; the rewards are on the line alone.
    (paid,) = db.session.scalars(select(Posting).where(Posting.tenant_id == t.id,
                                                       Posting.idem_key == f"order:paid:{order.id}"))
    assert sorted(leg.amount_fen for leg in db.session.scalars(
        select(Entry).where(Entry.posting_id == paid.id))) == [-5800, 5800]
    rewards = db.session.scalars(select(Payout.amount_fen).where(Payout.order_id == order.id,
                                                                 Payout.beneficiary_id == promoter.id)).all()
    assert rewards == [(5000 - 2000) * 30 // 100]
    shown = client.get(f"/api/v1/mp/shop/orders/{order.id}", headers=h).json
    assert (shown["freight_fen"], shown["payable_fen"], shown["paid_fen"]) == (800, 5800, 5800)


def test_a_free_shipping_coupon_zeroes_the_freight_and_is_picked_when_it_takes_off_most(client, factory, shop):
    t = factory.tenant()
    buyer = factory.member(t)
    _, tea = shop.product(t, price_fen=5000, cost_fen=2000)
    _rule(client, factory, t, freight_fen=1500)
    ship = coupon(t, name="包邮券", kind="shipping", amount_off_fen=0, threshold_fen=0)
    ten = coupon(t, name="减10", kind="amount", amount_off_fen=1000, threshold_fen=0)
    with unit_of_work():
        held = {c: coupons.issue_coupon(tenant_id=t.id, coupon_id=c, member_id=buyer.id, source="grant",
                                        now=utcnow()).id for c in (ship, ten)}
    h = factory.member_headers(buyer)
    quote = client.post("/api/v1/mp/checkout/quote", headers=h, json={"items": [{"sku_id": tea, "quantity": 1}]}).json
    assert [(o["member_coupon_id"], o["discount_fen"]) for o in quote["coupons"]] == [(held[ship], 1500),
                                                                                     (held[ten], 1000)]
    assert quote["coupon"]["member_coupon_id"] == held[ship]
    assert (quote["freight_fen"], quote["freight_discount_fen"], quote["payable_fen"]) == (1500, 1500, 5000)

    body = _order(client, factory, buyer, [(tea, 1)], coupon="best").json
    assert (body["freight_fen"], body["freight_discount_fen"], body["coupon_fen"], body["payable_fen"]) == (
        1500, 1500, 1500, 5000)
    assert [ln["paid_fen"] for ln in body["lines"]] == [5000]  # the goods keep their price
    # Once the freight is waived there is nothing for the second coupon but the goods.
    other = _order(client, factory, buyer, [(tea, 1)], coupon="best").json
    assert (other["coupon_fen"], other["freight_discount_fen"], other["payable_fen"]) == (1000, 0, 5500)


def test_without_freight_a_free_shipping_coupon_is_not_usable(client, factory, shop):
    t = factory.tenant()
    buyer = factory.member(t)
    _, tea = shop.product(t, price_fen=5000)
    _rule(client, factory, t, freight_fen=1500, free_freight_over_fen=5000)
    ship = coupon(t, name="包邮券", kind="shipping", amount_off_fen=0, threshold_fen=0)
    with unit_of_work():
        held = coupons.issue_coupon(tenant_id=t.id, coupon_id=ship, member_id=buyer.id, source="grant",
                                    now=utcnow()).id
    refused = _order(client, factory, buyer, [(tea, 1)], coupon=held)
    assert refused.status_code == 409 and refused.json["code"] == "coupon_not_usable"
    assert "本单无运费" in refused.json["message"]
    assert db.session.scalar(select(Order.id).where(Order.tenant_id == t.id)) is None


def test_the_refund_that_leaves_no_goods_returns_the_freight_once_while_nothing_shipped(client, factory, shop,
                                                                                      sandbox):
    t = factory.tenant()
    buyer = factory.member(t)
    _, tea = shop.product(t, price_fen=5000)
    _, cup = shop.product(t, price_fen=3000, name="茶杯")
    _rule(client, factory, t, freight_fen=800)
    body = _order(client, factory, buyer, [(tea, 1), (cup, 1)]).json
    order = _pay(shop, t, buyer, body["id"])
    assert order.paid_fen == 8800
    first, last = [ln["id"] for ln in body["lines"]]
    r1 = _refund(shop, sandbox, t, order.id, first)
    assert (r1.amount_fen, r1.freight_fen) == (5000, 0)
    r2 = _refund(shop, sandbox, t, order.id, last)
    assert (r2.amount_fen, r2.freight_fen, r2.status) == (3800, 800, "succeeded")
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert (order.status, order.refunded_fen) == ("refunded", 8800)


def test_after_shipping_the_freight_stays_unless_the_rule_says_always(client, factory, shop, sandbox):
    for rule, back in (("unshipped", 0), ("always", 800), ("never", 0)):
        t = factory.tenant()
        buyer = factory.member(t)
        _, tea = shop.product(t, price_fen=5000)
        _rule(client, factory, t, freight_fen=800, freight_refund=rule)
        body = _order(client, factory, buyer, [(tea, 1)]).json
        _pay(shop, t, buyer, body["id"])
        with unit_of_work():
            orders.ship_order(tenant_id=t.id, order_id=body["id"], company="顺丰", tracking_no="SF1",
                              actor="staff:1", now=utcnow())
        r = _refund(shop, sandbox, t, body["id"], None)
        assert (rule, r.amount_fen, r.freight_fen) == (rule, 5000 + back, back)
    # Never shipped, "never" still keeps it; "unshipped" gives it back (the test above).
    t = factory.tenant()
    buyer = factory.member(t)
    _, tea = shop.product(t, price_fen=5000)
    _rule(client, factory, t, freight_fen=800, freight_refund="never")
    body = _order(client, factory, buyer, [(tea, 1)]).json
    _pay(shop, t, buyer, body["id"])
    assert _refund(shop, sandbox, t, body["id"], None).amount_fen == 5000


def test_freight_paid_with_stored_value_goes_back_to_it_and_counts_in_what_the_order_brought(client, factory, shop):
    from tests.finance_factories import assert_ledger_balanced, balances, give_stored

    t = factory.tenant()
    buyer = factory.member(t)
    _, tea = shop.product(t, price_fen=5000)
    _rule(client, factory, t, freight_fen=800)
    give_stored(t, buyer, 10000)
    body = _order(client, factory, buyer, [(tea, 1)]).json
    h = factory.member_headers(buyer)
    paid = client.post(f"/api/v1/mp/shop/orders/{body['id']}/pay-stored", headers=h, json={})
    assert paid.status_code == 200 and paid.json["paid"] is True
    assert balances(t, buyer)["stored"] == 10000 - 5800
    with unit_of_work():
        assert orders.paid_totals(tenant_id=t.id, order_ids=[body["id"]]) == (1, 5800)
    boss = factory.staff_headers(factory.staff(t, "boss"))
    refund = client.post(f"/api/v1/admin/shop/orders/{body['id']}/refunds", headers=boss, json={"reason": "退货"})
    assert refund.status_code == 201 and (refund.json["amount_fen"], refund.json["freight_fen"]) == (5800, 800)
    assert balances(t, buyer)["stored"] == 10000
    assert_ledger_balanced(t)
