"""Points: earned (completion, sign-in, bindings, tasks), spent at checkout within the
cap, given back on cancel and full refund, transferred, expired oldest-first; a
ledger with keys that is rebuildable and never negative."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.marketing import jobs, points
from backend.marketing.models import PointsAccount, PointsEntry
from backend.orders import service as orders
from backend.orders.models import Order
from backend.payments import service as payments
from backend.rewards.models import Payout
from tests.marketing_factories import coupon
from tests.orders_factories import RECEIVER


def _give(t: Any, member: Any, n: int, key: str = "seed", when: Any = None) -> None:
    with unit_of_work():
        points.credit(tenant_id=t.id, member_id=member.id, points=n, kind="grant", key=key, now=when or utcnow(),
                      memo="测试")


def _balance(t: Any, member: Any) -> int:
    db.session.expire_all()
    return points.balance_of(tenant_id=t.id, member_id=member.id)


def _checkout(client: Any, factory: Any, buyer: Any, items: list[tuple[int, int]], **extra: Any) -> Any:
    return client.post("/api/v1/mp/checkout/orders", headers=factory.member_headers(buyer), json={
        "items": [{"sku_id": s, "quantity": q} for s, q in items], "receiver": RECEIVER, **extra})


def test_coupon_and_points_together_price_the_lines_and_rewards_follow(client, factory, shop):
    t = factory.tenant()
    shop.plan(t)
    promoter = factory.member(t)
    buyer = factory.member(t, parent=promoter)
    _, tea = shop.product(t, price_fen=10000, cost_fen=4000)
    _, cup = shop.product(t, price_fen=5000, cost_fen=2000, name="茶杯")
    cid = coupon(t)
    with unit_of_work():
        from backend.marketing import coupons

        coupons.issue_coupon(tenant_id=t.id, coupon_id=cid, member_id=buyer.id, source="grant", now=utcnow())
    _give(t, buyer, 20000)
    h = factory.member_headers(buyer)
    items = [{"sku_id": tea, "quantity": 1}, {"sku_id": cup, "quantity": 1}]
    q = client.post("/api/v1/mp/checkout/quote", headers=h, json={"items": items, "points": 3000}).json
    # 150 yuan − 30 coupon = 120 left; points may pay half of it: 6000 points at 1 fen each.
    assert q["points"] == {"balance": 20000, "max_points": 6000, "point_value_fen": 1, "used": 3000, "fen": 3000}
    assert q["payable_fen"] == 9000

    body = _checkout(client, factory, buyer, [(tea, 1), (cup, 1)], points=3000).json
    assert (body["payable_fen"], body["coupon_fen"], body["points_used"]) == (9000, 3000, 3000)
    # Coupon 2000/1000, then points over what is left (8000:4000) → 2000/1000.
    assert [ln["paid_fen"] for ln in body["lines"]] == [6000, 3000]
    assert _balance(t, buyer) == 17000

    order = db.session.get(Order, body["id"])
    (d,) = shop.deliver(shop.payment(t, buyer, order))
    assert d.result.status_code == 204
    paid = sorted(db.session.scalars(select(Payout.amount_fen).where(Payout.order_id == order.id,
                                                                     Payout.beneficiary_id == promoter.id)))
    assert paid == sorted([(6000 - 4000) * 30 // 100, (3000 - 2000) * 30 // 100])

    # Completion earns a point per yuan paid.
    with unit_of_work():
        orders.ship_order(tenant_id=t.id, order_id=order.id, company="顺丰", tracking_no="SF1", actor="staff:1",
                          now=utcnow())
        orders.complete_order(tenant_id=t.id, order_id=order.id, now=utcnow())
    assert _balance(t, buyer) == 17000 + 90


def test_a_cancelled_order_gives_its_points_back_once(client, factory, shop):
    t = factory.tenant()
    buyer = factory.member(t)
    _, tea = shop.product(t, price_fen=10000)
    _give(t, buyer, 1000)
    body = _checkout(client, factory, buyer, [(tea, 1)], points=800).json
    assert _balance(t, buyer) == 200
    h = factory.member_headers(buyer)
    assert client.post(f"/api/v1/mp/shop/orders/{body['id']}/cancel", headers=h).status_code == 200
    assert client.post(f"/api/v1/mp/shop/orders/{body['id']}/cancel", headers=h).status_code == 200
    assert _balance(t, buyer) == 1000
    kinds = client.get("/api/v1/mp/me/points", headers=h).json
    assert [e["kind"] for e in kinds["items"]] == ["spend_return", "spend", "grant"] and kinds["balance"] == 1000


def test_a_full_refund_returns_spent_points_and_takes_back_earned_ones(client, factory, shop, sandbox):
    t = factory.tenant()
    buyer = factory.member(t)
    _, tea = shop.product(t, price_fen=10000)
    _give(t, buyer, 500)
    body = _checkout(client, factory, buyer, [(tea, 1)], points=500).json
    order = db.session.get(Order, body["id"])
    shop.deliver(shop.payment(t, buyer, order))
    with unit_of_work():
        orders.ship_order(tenant_id=t.id, order_id=order.id, company="顺丰", tracking_no="SF1", actor="staff:1",
                          now=utcnow())
        orders.complete_order(tenant_id=t.id, order_id=order.id, now=utcnow())
    assert _balance(t, buyer) == 95  # 9500 fen paid → 95 points
    with unit_of_work():
        refund = payments.refund_order(tenant_id=t.id, order_id=order.id, order_line_id=None, reason="质量问题",
                                       actor="staff:1", now=utcnow())
    shop.deliver(sandbox.complete_refund(refund.refund_no))
    # The 500 spent come back; the 95 earned are taken back.
    assert _balance(t, buyer) == 500


def test_sign_in_tasks_bindings_and_transfers(client, factory, shop):
    t = factory.tenant()
    promoter = factory.member(t)
    fan = factory.member(t, parent=promoter)
    assert _balance(t, promoter) == 10  # the share brought a member
    h = factory.member_headers(fan)
    assert client.post("/api/v1/mp/me/points/sign-in", headers=h).json == {"points": 5, "balance": 5}
    again = client.post("/api/v1/mp/me/points/sign-in", headers=h)
    assert (again.status_code, again.json["code"], again.json["message"]) == (409, "already_signed_in",
                                                                              "今天已经签到过了")
    boss = factory.staff(t)
    sh = factory.staff_headers(boss)
    task = client.post("/api/v1/admin/marketing/points-tasks", headers=sh, json={
        "title": "参加品鉴会", "points": 50, "claim_code": "TEA2026"}).json
    assert client.get("/api/v1/mp/points/tasks", headers=h).json["items"][0]["needs_code"] is True
    wrong = client.post(f"/api/v1/mp/points/tasks/{task['id']}/complete", headers=h, json={"code": "nope"})
    assert wrong.json["message"] == "任务口令不正确"
    ok = client.post(f"/api/v1/mp/points/tasks/{task['id']}/complete", headers=h, json={"code": "tea2026"})
    assert ok.json == {"points": 50, "balance": 55}
    done = client.post(f"/api/v1/mp/points/tasks/{task['id']}/complete", headers=h, json={"code": "TEA2026"})
    assert done.json["code"] == "points_task_done"

    give = {"to_invite_code": promoter.invite_code, "points": 30, "client_token": "tok-12345678"}
    resp = client.post("/api/v1/mp/me/points/transfer", headers=h, json=give)
    assert resp.status_code == 200 and resp.json["balance"] == 25
    assert client.post("/api/v1/mp/me/points/transfer", headers=h, json=give).json["balance"] == 25  # replay
    assert _balance(t, promoter) == 40
    admin = client.get(f"/api/v1/admin/marketing/members/{promoter.id}/points", headers=sh).json
    assert admin["balance"] == 40 and [e["kind"] for e in admin["items"]] == ["transfer_in", "bind"]


def test_spending_more_than_held_or_the_cap_is_refused_and_changes_nothing(client, factory, shop):
    t = factory.tenant()
    buyer, other = factory.member(t), factory.member(t)
    _, tea = shop.product(t, price_fen=10000)
    _give(t, buyer, 8000)
    h = factory.member_headers(buyer)
    resp = _checkout(client, factory, buyer, [(tea, 1)], points=9000)
    assert (resp.status_code, resp.json["code"], resp.json["message"]) == (409, "insufficient_points",
                                                                           "积分不足，当前可用 8000 积分")
    resp = _checkout(client, factory, buyer, [(tea, 1)], points=6000)
    assert (resp.json["code"], resp.json["message"]) == ("points_over_cap", "本单最多可用 5000 积分")
    resp = client.post("/api/v1/mp/me/points/transfer", headers=h, json={
        "to_invite_code": other.invite_code, "points": 8001, "client_token": "tok-abcdefgh"})
    assert resp.json["code"] == "insufficient_points"
    resp = client.post("/api/v1/mp/me/points/transfer", headers=h, json={
        "to_invite_code": buyer.invite_code, "points": 1, "client_token": "tok-abcdefgh"})
    assert resp.json["message"] == "不能转赠给自己"
    assert _balance(t, buyer) == 8000 and _balance(t, other) == 0
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 1


def test_points_expire_oldest_first_by_the_tenant_rule_and_only_once(factory):
    t = factory.tenant()
    m = factory.member(t)
    old = utcnow() - timedelta(days=370)
    _give(t, m, 100, key="old", when=old)  # expires after 365 days: already due
    _give(t, m, 50, key="new")
    with unit_of_work():  # 30 spent: taken from the oldest credit
        points.post_points(tenant_id=t.id, member_id=m.id, delta=-30, kind="spend", key="s", now=utcnow())
    assert jobs.expire_points(now=utcnow()) == 1
    assert _balance(t, m) == 50  # the 70 left of the old credit expired
    assert jobs.expire_points(now=utcnow()) == 0
    assert _balance(t, m) == 50


def test_the_check_finds_a_balance_that_left_its_entries_and_rebuilds_it(app, factory):
    t = factory.tenant()
    m = factory.member(t)
    _give(t, m, 70)
    with unit_of_work():
        db.session.execute(update(PointsAccount).where(PointsAccount.member_id == m.id).values(balance=99))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["marketing", "points-check", "--tenant", t.slug])
    assert result.exit_code == 1 and f"member {m.id}: balance 99, entries 70" in result.output
    result = runner.invoke(args=["marketing", "points-check", "--tenant", t.slug, "--fix"])
    assert result.exit_code == 0 and "1 rebuilt" in result.output
    assert _balance(t, m) == 70


def _lines_of(order_id: int) -> list[Any]:
    from backend.orders.models import OrderLine

    return list(db.session.scalars(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id)))


def test_partial_refunds_return_spent_points_and_take_back_earned_ones_in_proportion_exactly_once(
        client, factory, shop, sandbox):
    from backend.marketing import coupons
    from backend.marketing.models import MemberCoupon

    t = factory.tenant()
    buyer = factory.member(t)
    skus = [shop.product(t, price_fen=p, name=f"茶{p}")[1] for p in (5000, 3000, 2000)]
    cid = coupon(t, name="减10", kind="amount", amount_off_fen=1000, threshold_fen=0)
    with unit_of_work():
        held = coupons.issue_coupon(tenant_id=t.id, coupon_id=cid, member_id=buyer.id, source="grant",
                                    now=utcnow()).id
    _give(t, buyer, 2000)
    body = _checkout(client, factory, buyer, [(s, 1) for s in skus], points=999).json
    # Coupon 500/300/200, then 999 points over 4500:2700:1800 → 499/299/201.
    assert [ln["paid_fen"] for ln in body["lines"]] == [4001, 2401, 1599]
    order = db.session.get(Order, body["id"])
    shop.deliver(shop.payment(t, buyer, order))
    with unit_of_work():
        orders.ship_order(tenant_id=t.id, order_id=order.id, company="顺丰", tracking_no="SF1", actor="staff:1",
                          now=utcnow())
        orders.complete_order(tenant_id=t.id, order_id=order.id, now=utcnow())
    assert _balance(t, buyer) == 1001 + 80  # 8001 fen of goods → 80 points

    steps = []
    for line in _lines_of(order.id):
        with unit_of_work():
            refund = payments.refund_order(tenant_id=t.id, order_id=order.id, order_line_id=line.id, reason="退一件",
                                           actor="staff:1", now=utcnow())
        notice = sandbox.complete_refund(refund.refund_no)
        shop.deliver(notice)
        shop.deliver(notice)  # a second delivery changes nothing
        db.session.expire_all()
        got = {k: int(v) for k, v in db.session.execute(
            select(PointsEntry.kind, func.sum(PointsEntry.delta)).where(
                PointsEntry.tenant_id == t.id, PointsEntry.idem_key.in_(
                    [f"spend_return:{refund.refund_no}", f"reverse:{refund.refund_no}"]))
            .group_by(PointsEntry.kind)).tuples()}
        steps.append((got.get("spend_return", 0), got.get("reverse_order", 0),
                      db.session.get(MemberCoupon, held).status))
    # Spent: 999 × 4001/8001 → 499, × 6402/8001 → 799 (300 more), the last the rest (200).
    # Earned: 80 × 4001/8001 → 40, × 6402/8001 → 64 (24 more), the last the rest (16).
    # The coupon comes back only with the refund that leaves nothing.
    assert steps == [(499, -40, "used"), (300, -24, "used"), (200, -16, "unused")]
    assert _balance(t, buyer) == 2000
    with unit_of_work():
        again = points.return_for_refund(tenant_id=t.id, member_id=buyer.id, order_id=order.id,
                                         refund_key="RF-any", refunded_fen=8001, goods_fen=8001, now=utcnow())
    assert again == 0 and _balance(t, buyer) == 2000
    with unit_of_work():
        report = points.check_points(tenant_id=t.id)
    assert report.mismatched == []


def test_points_are_earned_on_the_goods_not_on_the_freight(client, factory, shop):
    t = factory.tenant()
    buyer = factory.member(t)
    _, tea = shop.product(t, price_fen=5050)
    boss = factory.staff_headers(factory.staff(t, "boss"))
    assert client.patch("/api/v1/admin/shop/order-policy", headers=boss, json={"freight_fen": 1000}).status_code == 200
    body = _checkout(client, factory, buyer, [(tea, 1)]).json
    assert body["payable_fen"] == 6050
    order = db.session.get(Order, body["id"])
    shop.deliver(shop.payment(t, buyer, order))
    with unit_of_work():
        orders.ship_order(tenant_id=t.id, order_id=order.id, company="顺丰", tracking_no="SF1", actor="staff:1",
                          now=utcnow())
        orders.complete_order(tenant_id=t.id, order_id=order.id, now=utcnow())
    assert _balance(t, buyer) == 50  # 50.50 yuan of goods, not 60.50 with the freight


def test_the_shop_order_route_takes_points_and_a_coupon_only_when_asked(client, factory, shop):
    from backend.marketing import coupons

    t = factory.tenant()
    buyer = factory.member(t)
    _, tea = shop.product(t, price_fen=10000)
    cid = coupon(t)
    with unit_of_work():
        held = coupons.issue_coupon(tenant_id=t.id, coupon_id=cid, member_id=buyer.id, source="grant",
                                    now=utcnow()).id
    _give(t, buyer, 1000)
    h = factory.member_headers(buyer)
    item = {"items": [{"sku_id": tea, "quantity": 1}], "receiver": RECEIVER}
    plain = client.post("/api/v1/mp/shop/orders", headers=h, json={**item, "points": 500})
    assert plain.status_code == 201, plain.json
    # The shop route's coupon defaults to none: the held one stays unused.
    assert (plain.json["payable_fen"], plain.json["coupon_fen"], plain.json["points_used"]) == (9500, 0, 500)
    both = client.post("/api/v1/mp/shop/orders", headers=h, json={**item, "points": 500, "coupon": held}).json
    assert (both["payable_fen"], both["coupon_fen"], both["points_used"]) == (6500, 3000, 500)
    over = client.post("/api/v1/mp/shop/orders", headers=h, json={**item, "points": 1})
    assert (over.status_code, over.json["code"]) == (409, "insufficient_points")
    assert _balance(t, buyer) == 0
