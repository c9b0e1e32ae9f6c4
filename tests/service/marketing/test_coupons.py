"""Coupons through checkout: claimed, chosen, spread over the lines to the fen, rewards
on what each line really cost, returned on cancel and (by the tenant's rule) on refund;
bad coupons refused with nothing changed; automatic gifts once per event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from backend.catalog.models import Sku
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.marketing import coupons
from backend.marketing.models import Coupon, MemberCoupon
from backend.orders.models import Order, OrderLine
from backend.payments import service as payments
from backend.rewards.models import Payout
from tests.marketing_factories import coupon
from tests.orders_factories import RECEIVER


def _setup(factory: Any, shop: Any) -> tuple[Any, Any, Any, int, int]:
    t = factory.tenant()
    shop.plan(t)
    promoter = factory.member(t)
    buyer = factory.member(t, parent=promoter)
    _, tea = shop.product(t, price_fen=10000, cost_fen=4000)
    _, cup = shop.product(t, price_fen=5000, cost_fen=2000, name="茶杯")
    return t, promoter, buyer, tea, cup


def _checkout(client: Any, factory: Any, buyer: Any, items: list[tuple[int, int]], **extra: Any) -> Any:
    return client.post("/api/v1/mp/checkout/orders", headers=factory.member_headers(buyer), json={
        "items": [{"sku_id": s, "quantity": q} for s, q in items], "receiver": RECEIVER, **extra})


def _pay(shop: Any, t: Any, buyer: Any, order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    (d,) = shop.deliver(shop.payment(t, buyer, order))
    assert d.result.status_code == 204, d.result.body
    db.session.expire_all()
    return db.session.get(Order, order_id)


def test_a_claimed_coupon_prices_the_order_and_rewards_follow_what_each_line_cost(client, factory, shop):
    t, promoter, buyer, tea, cup = _setup(factory, shop)
    boss = factory.staff(t)
    resp = client.post("/api/v1/admin/marketing/coupons", headers=factory.staff_headers(boss), json={
        "name": "满100减30", "kind": "threshold", "amount_off_fen": 3000, "threshold_fen": 10000,
        "total_stock": 10, "valid_days": 7})
    assert resp.status_code == 201, resp.json
    coupon_id = resp.json["id"]
    h = factory.member_headers(buyer)
    centre = client.get("/api/v1/mp/coupons", headers=h).json["items"]
    assert [c["id"] for c in centre] == [coupon_id] and centre[0]["description"] == "满 100.00 元减 30.00 元"
    held = client.post(f"/api/v1/mp/coupons/{coupon_id}/claim", headers=h)
    assert held.status_code == 201 and held.json["status"] == "unused"

    items = [{"sku_id": tea, "quantity": 1}, {"sku_id": cup, "quantity": 1}]
    quote = client.post("/api/v1/mp/checkout/quote", headers=h, json={"items": items}).json
    assert (quote["goods_fen"], quote["coupon_fen"], quote["payable_fen"]) == (15000, 3000, 12000)
    assert quote["coupon"]["member_coupon_id"] == held.json["id"]

    resp = _checkout(client, factory, buyer, [(tea, 1), (cup, 1)])
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert (body["payable_fen"], body["discount_fen"], body["coupon_fen"]) == (12000, 3000, 3000)
    # 3000 off spread 10000:5000 → 2000 and 1000.
    assert [ln["paid_fen"] for ln in body["lines"]] == [8000, 4000]
    assert client.get("/api/v1/mp/me/coupons", headers=h).json["items"][0]["status"] == "used"

    order = _pay(shop, t, buyer, body["id"])
    assert order.paid_fen == 12000
    # The deck's plan pays 30% of the profit to the promoter: on what the lines cost the buyer.
    paid = dict(db.session.execute(select(Payout.order_line_id, Payout.amount_fen).where(
        Payout.order_id == order.id, Payout.beneficiary_id == promoter.id)).tuples().all())
    by_sku = {ln.sku_id: ln.id for ln in db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))}
    assert paid == {by_sku[tea]: (8000 - 4000) * 30 // 100, by_sku[cup]: (4000 - 2000) * 30 // 100}


def test_checkout_picks_the_best_coupon_and_the_member_may_choose_another_or_none(client, factory, shop):
    t, _, buyer, tea, _ = _setup(factory, shop)
    small, big = coupon(t, name="减10", kind="amount", amount_off_fen=1000, threshold_fen=0), coupon(t)
    pct = coupon(t, name="85折", kind="percent", percent_off="0.15", max_discount_fen=2000, threshold_fen=0)
    with unit_of_work():
        held = {c: coupons.issue_coupon(tenant_id=t.id, coupon_id=c, member_id=buyer.id, source="grant",
                                        now=utcnow()).id for c in (small, big, pct)}
    h = factory.member_headers(buyer)
    items = [{"sku_id": tea, "quantity": 2}]
    quote = client.post("/api/v1/mp/checkout/quote", headers=h, json={"items": items}).json
    assert [(o["member_coupon_id"], o["discount_fen"]) for o in quote["coupons"]] == [
        (held[big], 3000), (held[pct], 2000), (held[small], 1000)]
    assert quote["coupon"]["member_coupon_id"] == held[big]
    chosen = client.post("/api/v1/mp/checkout/quote", headers=h, json={"items": items, "coupon": held[small]}).json
    assert chosen["payable_fen"] == 19000
    none = _checkout(client, factory, buyer, [(tea, 2)], coupon="none").json
    assert none["payable_fen"] == 20000 and none["coupon_fen"] == 0
    mine = _checkout(client, factory, buyer, [(tea, 2)], coupon=held[pct]).json
    assert mine["payable_fen"] == 18000 and mine["coupon_fen"] == 2000  # 15% of 200 is 30, capped at 20


def test_a_cancelled_order_returns_its_coupon_and_a_refund_returns_it_by_the_tenant_rule(client, factory, shop,
                                                                                       sandbox):
    t, _, buyer, tea, _ = _setup(factory, shop)
    cid = coupon(t)
    with unit_of_work():
        held = coupons.issue_coupon(tenant_id=t.id, coupon_id=cid, member_id=buyer.id, source="grant",
                                    now=utcnow()).id
    h = factory.member_headers(buyer)
    first = _checkout(client, factory, buyer, [(tea, 1)]).json
    assert first["coupon_fen"] == 3000
    assert client.post(f"/api/v1/mp/shop/orders/{first['id']}/cancel", headers=h).status_code == 200
    assert db.session.get(MemberCoupon, held).status == "unused"

    second = _checkout(client, factory, buyer, [(tea, 1)]).json
    assert second["coupon_fen"] == 3000
    _pay(shop, t, buyer, second["id"])
    with unit_of_work():
        refund = payments.refund_order(tenant_id=t.id, order_id=second["id"], order_line_id=None, reason="质量问题",
                                       actor="staff:1", now=utcnow())
    shop.deliver(sandbox.complete_refund(refund.refund_no))
    db.session.expire_all()
    assert db.session.get(Order, second["id"]).status == "refunded"
    assert db.session.get(MemberCoupon, held).status == "unused"

    # A tenant that keeps coupons on refunds.
    boss = factory.staff(t)
    client.patch("/api/v1/admin/marketing/policy", headers=factory.staff_headers(boss),
                 json={"return_coupon_on_refund": False})
    third = _pay(shop, t, buyer, _checkout(client, factory, buyer, [(tea, 1)]).json["id"])
    with unit_of_work():
        refund = payments.refund_order(tenant_id=t.id, order_id=third.id, order_line_id=None, reason="质量问题",
                                       actor="staff:1", now=utcnow())
    shop.deliver(sandbox.complete_refund(refund.refund_no))
    db.session.expire_all()
    assert db.session.get(MemberCoupon, held).status == "used"


def test_bad_coupons_get_a_clear_error_and_change_nothing(client, factory, shop):
    t, _, buyer, tea, _ = _setup(factory, shop)
    other = factory.tenant()
    foreign = coupon(other)
    expired = coupon(t, valid_days=None, valid_from=utcnow() - timedelta(days=10),
                     valid_until=utcnow() - timedelta(days=1))
    gone = coupon(t, total_stock=1)
    limited = coupon(t, per_member_limit=1)
    small = coupon(t, name="满500减30", threshold_fen=50000)
    h = factory.member_headers(buyer)
    first = factory.member(t)
    assert client.post(f"/api/v1/mp/coupons/{gone}/claim", headers=factory.member_headers(first)).status_code == 201
    assert client.post(f"/api/v1/mp/coupons/{limited}/claim", headers=h).status_code == 201
    with unit_of_work():
        unusable = coupons.issue_coupon(tenant_id=t.id, coupon_id=small, member_id=buyer.id, source="grant",
                                        now=utcnow()).id
    cases = [
        (f"/api/v1/mp/coupons/{foreign}/claim", 404, "coupon_not_found", "优惠券不存在"),
        (f"/api/v1/mp/coupons/{expired}/claim", 409, "coupon_unavailable", "优惠券已停发或已过期"),
        (f"/api/v1/mp/coupons/{gone}/claim", 409, "coupon_out_of_stock", "优惠券已领完"),
        (f"/api/v1/mp/coupons/{limited}/claim", 409, "coupon_limit_reached", "该券每人限领 1 张"),
    ]
    for url, status, code, message in cases:
        resp = client.post(url, headers=h)
        assert (resp.status_code, resp.json["code"], resp.json["message"]) == (status, code, message), url
    assert db.session.scalar(select(Coupon.issued).where(Coupon.id == gone)) == 1
    assert db.session.scalar(select(func.count()).select_from(MemberCoupon).where(
        MemberCoupon.member_id == buyer.id)) == 2

    resp = _checkout(client, factory, buyer, [(tea, 1)], coupon=unusable)
    assert resp.status_code == 409 and resp.json["code"] == "coupon_not_usable"
    assert resp.json["message"] == "该优惠券不可用于本单：适用商品满 500.00 元可用"
    with unit_of_work():
        foreign_held = coupons.issue_coupon(tenant_id=other.id, coupon_id=foreign, member_id=factory.member(other).id,
                                            source="grant", now=utcnow()).id
    resp = _checkout(client, factory, buyer, [(tea, 1)], coupon=foreign_held)
    assert resp.status_code == 409 and resp.json["message"] == "优惠券不存在、已使用或已过期"
    # Nothing was placed and no stock was taken.
    assert db.session.scalar(select(func.count()).select_from(Order).where(Order.member_id == buyer.id)) == 0
    assert db.session.get(Sku, tea).stock == 100


def test_new_members_and_promoters_who_bring_them_get_their_coupons_once(client, factory, shop):
    t = factory.tenant()
    gift, invite = coupon(t, name="新人礼"), coupon(t, name="邀请奖励", claimable=False)
    boss = factory.staff(t)
    resp = client.patch("/api/v1/admin/marketing/policy", headers=factory.staff_headers(boss),
                        json={"new_member_coupon_id": gift, "invite_coupon_id": invite})
    assert resp.status_code == 200, resp.json
    promoter = factory.member(t)
    fan = factory.member(t, parent=promoter)
    held = {(h.member_id, h.coupon_id, h.source) for h in db.session.scalars(select(MemberCoupon))}
    assert held == {(promoter.id, gift, "new_member"), (fan.id, gift, "new_member"),
                    (promoter.id, invite, "invite")}
    # The invite coupon cannot be claimed by hand.
    resp = client.post(f"/api/v1/mp/coupons/{invite}/claim", headers=factory.member_headers(fan))
    assert resp.status_code == 409 and resp.json["message"] == "该券不可自行领取"


def test_staff_grants_are_audited_and_respect_the_stock(client, factory, shop):
    from backend.audit.models import AuditLog

    t = factory.tenant()
    member = factory.member(t)
    cid = coupon(t, total_stock=1)
    boss = factory.staff(t)
    sh = factory.staff_headers(boss)
    resp = client.post(f"/api/v1/admin/marketing/coupons/{cid}/grant", headers=sh, json={"member_id": member.id})
    assert resp.status_code == 201 and resp.json["source"] == "grant"
    resp = client.post(f"/api/v1/admin/marketing/coupons/{cid}/grant", headers=sh, json={"member_id": member.id})
    assert resp.json["code"] == "coupon_out_of_stock"
    listed = client.get("/api/v1/admin/marketing/coupons", headers=sh).json["items"]
    assert (listed[0]["issued"], listed[0]["remaining"], listed[0]["used"]) == (1, 0, 0)
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "marketing.coupon_grant")) == 1
