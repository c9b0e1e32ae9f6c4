"""Group-buy end to end: open, join through a share (bound as any share), pay, filled
(the leader's points, shipping allowed); a group that runs out of time is unwound by the
job exactly once (unpaid orders cancelled, paid ones refunded); bad joins change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from backend.catalog.models import Sku
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.flows import jobs
from backend.marketing import points
from backend.marketing.models import GroupBuy, GroupSeat
from backend.members.models import Binding
from backend.orders.models import Order, Refund
from tests.orders_factories import RECEIVER


def _campaign(client: Any, factory: Any, shop: Any, t: Any, *, size: int = 3, leader_points: int = 100,
              free_leader: bool = False) -> int:
    product, sku = shop.product(t, price_fen=10000, cost_fen=3000, stock=50)
    boss = factory.staff(t)
    now = utcnow()
    resp = client.post("/api/v1/admin/marketing/group-campaigns", headers=factory.staff_headers(boss), json={
        "name": "龙井三人团", "product_id": product, "sku_id": sku, "group_price_fen": 6000, "group_size": size,
        "time_limit_minutes": 60, "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(), "leader_reward_points": leader_points,
        "free_leader": free_leader})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def _pay(shop: Any, t: Any, member: Any, order_id: int) -> None:
    (d,) = shop.deliver(shop.payment(t, member, db.session.get(Order, order_id)))
    assert d.result.status_code == 204, d.result.body


def test_a_group_opened_joined_through_a_share_and_paid_is_filled_and_ships(client, factory, shop):
    t = factory.tenant()
    cid = _campaign(client, factory, shop, t)
    leader, a, b = factory.member(t), factory.member(t), factory.member(t)
    opened = client.post(f"/api/v1/mp/group-buys/{cid}/open", headers=factory.member_headers(leader),
                         json={"receiver": RECEIVER})
    assert opened.status_code == 201, opened.json
    gid, leader_order = opened.json["group"]["id"], opened.json["order"]
    assert leader_order["payable_fen"] == 6000 and leader_order["lines"][0]["paid_fen"] == 6000
    assert opened.json["group"]["seats_left"] == 2

    scene = f"i={leader.invite_code}"
    joined = [client.post(f"/api/v1/mp/group-buys/groups/{gid}/join", headers=factory.member_headers(m),
                          json={"receiver": RECEIVER, "scene": scene}) for m in (a, b)]
    assert [j.status_code for j in joined] == [201, 201]
    assert joined[1].json["group"]["seats_left"] == 0
    # The share bound the joiners to the leader, as any share does.
    assert set(db.session.execute(select(Binding.member_id, Binding.parent_id, Binding.source)).tuples()) == {
        (a.id, leader.id, "share"), (b.id, leader.id, "share")}

    boss = factory.staff_headers(factory.staff(t))
    _pay(shop, t, leader, leader_order["id"])
    _pay(shop, t, a, joined[0].json["order"]["id"])
    ship = client.post(f"/api/v1/admin/shop/orders/{leader_order['id']}/ship", headers=boss,
                       json={"company": "顺丰", "tracking_no": "SF100"})
    assert (ship.status_code, ship.json["code"], ship.json["message"]) == (409, "group_not_filled",
                                                                           "拼团尚未成团，暂不能发货")
    _pay(shop, t, b, joined[1].json["order"]["id"])
    page = client.get(f"/api/v1/mp/group-buys/groups/{gid}", headers=factory.member_headers(a)).json
    assert (page["status"], page["seats_paid"]) == ("filled", 3)
    assert points.balance_of(tenant_id=t.id, member_id=leader.id) == 100 + 2 * 10  # leader reward + 2 bindings
    ship = client.post(f"/api/v1/admin/shop/orders/{leader_order['id']}/ship", headers=boss,
                       json={"company": "顺丰", "tracking_no": "SF100"})
    assert ship.status_code == 200 and ship.json["status"] == "shipped"
    listed = client.get("/api/v1/admin/marketing/group-campaigns", headers=boss).json["items"][0]
    assert listed["groups"] == {"forming": 0, "filled": 1, "failed": 0}


def test_a_group_that_runs_out_of_time_is_refunded_exactly_once(client, factory, shop, sandbox):
    t = factory.tenant()
    cid = _campaign(client, factory, shop, t)
    leader, a = factory.member(t), factory.member(t)
    opened = client.post(f"/api/v1/mp/group-buys/{cid}/open", headers=factory.member_headers(leader),
                         json={"receiver": RECEIVER}).json
    gid = opened["group"]["id"]
    joined = client.post(f"/api/v1/mp/group-buys/groups/{gid}/join", headers=factory.member_headers(a),
                         json={"receiver": RECEIVER}).json
    _pay(shop, t, leader, opened["order"]["id"])  # a never pays
    later = utcnow() + timedelta(minutes=61)
    assert jobs.unwind_failed_groups(now=later) == 2
    assert jobs.unwind_failed_groups(now=later) == 0  # nothing twice
    db.session.expire_all()
    group = db.session.get(GroupBuy, gid)
    assert group.status == "failed"
    assert db.session.get(Order, joined["order"]["id"]).status == "cancelled"
    refunds = db.session.scalars(select(Refund).where(Refund.order_id == opened["order"]["id"])).all()
    assert len(refunds) == 1 and refunds[0].amount_fen == 6000 and refunds[0].status == "processing"
    shop.deliver(sandbox.complete_refund(refunds[0].refund_no))
    db.session.expire_all()
    assert db.session.get(Order, opened["order"]["id"]).status == "refunded"
    assert sorted(db.session.scalars(select(GroupSeat.status))) == ["refunded", "released"]
    sh = factory.staff_headers(factory.staff(t))
    [listed] = client.get(f"/api/v1/admin/marketing/group-campaigns/{cid}/groups", headers=sh).json["items"]
    assert listed["status"] == "failed" and sorted((s["member_id"], s["status"]) for s in listed["seats"]) == sorted(
        [(leader.id, "refunded"), (a.id, "released")])


def test_joining_a_full_an_expired_or_the_same_group_is_refused_and_changes_nothing(client, factory, shop):
    t = factory.tenant()
    cid = _campaign(client, factory, shop, t, size=2)
    leader, a, late = factory.member(t), factory.member(t), factory.member(t)
    gid = client.post(f"/api/v1/mp/group-buys/{cid}/open", headers=factory.member_headers(leader),
                      json={"receiver": RECEIVER}).json["group"]["id"]
    again = client.post(f"/api/v1/mp/group-buys/groups/{gid}/join", headers=factory.member_headers(leader),
                        json={"receiver": RECEIVER})
    assert (again.status_code, again.json["code"], again.json["message"]) == (409, "already_in_group",
                                                                              "你已在该团中")
    assert client.post(f"/api/v1/mp/group-buys/groups/{gid}/join", headers=factory.member_headers(a),
                       json={"receiver": RECEIVER}).status_code == 201
    stock = db.session.scalar(select(func.sum(Sku.stock)))
    full = client.post(f"/api/v1/mp/group-buys/groups/{gid}/join", headers=factory.member_headers(late),
                       json={"receiver": RECEIVER})
    assert (full.status_code, full.json["code"], full.json["message"]) == (409, "group_full", "该团已满员")
    db.session.expire_all()
    assert db.session.get(GroupBuy, gid).seats_taken == 2
    assert db.session.scalar(select(func.sum(Sku.stock))) == stock  # no piece reserved for the refused

    gid2 = client.post(f"/api/v1/mp/group-buys/{cid}/open", headers=factory.member_headers(a),
                       json={"receiver": RECEIVER}).json["group"]["id"]
    jobs.unwind_failed_groups(now=utcnow() + timedelta(hours=2))
    expired = client.post(f"/api/v1/mp/group-buys/groups/{gid2}/join", headers=factory.member_headers(late),
                          json={"receiver": RECEIVER})
    assert (expired.status_code, expired.json["code"], expired.json["message"]) == (409, "group_expired",
                                                                                    "该团已结束")
    missing = client.post("/api/v1/mp/group-buys/groups/999999/join", headers=factory.member_headers(late),
                          json={"receiver": RECEIVER})
    assert missing.json["code"] == "group_not_found"
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Order).where(Order.member_id == late.id)) == 0



def test_a_seat_refunded_while_the_group_forms_is_free_again(client, factory, shop, sandbox):
    from backend.db import unit_of_work
    from backend.payments import service as payments

    t = factory.tenant()
    cid = _campaign(client, factory, shop, t, size=2)
    leader, a, b = factory.member(t), factory.member(t), factory.member(t)
    gid = client.post(f"/api/v1/mp/group-buys/{cid}/open", headers=factory.member_headers(leader),
                      json={"receiver": RECEIVER}).json["group"]["id"]
    joined = client.post(f"/api/v1/mp/group-buys/groups/{gid}/join", headers=factory.member_headers(a),
                         json={"receiver": RECEIVER}).json
    _pay(shop, t, a, joined["order"]["id"])
    with unit_of_work():
        refund = payments.refund_order(tenant_id=t.id, order_id=joined["order"]["id"], order_line_id=None,
                                       reason="不想要了", actor="staff:1", now=utcnow())
    shop.deliver(sandbox.complete_refund(refund.refund_no))
    db.session.expire_all()
    group = db.session.get(GroupBuy, gid)
    assert (group.status, group.seats_taken, group.seats_paid) == ("forming", 1, 0)
    again = client.post(f"/api/v1/mp/group-buys/groups/{gid}/join", headers=factory.member_headers(b),
                        json={"receiver": RECEIVER})
    assert again.status_code == 201 and again.json["group"]["seats_left"] == 0


def test_a_free_leader_is_refunded_in_full_once_by_the_job_when_the_group_fills(client, factory, shop, sandbox):
    from backend.finance.models import RewardAccrual
    from backend.marketing.models import PointsEntry

    t = factory.tenant()
    shop.plan(t)
    cid = _campaign(client, factory, shop, t, size=2, leader_points=50, free_leader=True)
    promoter = factory.member(t)
    leader, a = factory.member(t, parent=promoter), factory.member(t)
    with unit_of_work():
        points.credit(tenant_id=t.id, member_id=leader.id, points=1000, kind="grant", key="seed", now=utcnow(),
                      memo="测试")
    opened = client.post(f"/api/v1/mp/group-buys/{cid}/open", headers=factory.member_headers(leader),
                         json={"receiver": RECEIVER}).json
    gid, leader_order = opened["group"]["id"], opened["order"]["id"]
    joined = client.post(f"/api/v1/mp/group-buys/groups/{gid}/join", headers=factory.member_headers(a),
                         json={"receiver": RECEIVER}).json
    _pay(shop, t, leader, leader_order)
    assert jobs.refund_free_leaders(now=utcnow()) == 0  # not filled yet: nothing owed
    _pay(shop, t, a, joined["order"]["id"])
    db.session.expire_all()
    assert db.session.get(GroupBuy, gid).status == "filled"
    frozen = db.session.scalars(select(RewardAccrual.status).where(RewardAccrual.order_id == leader_order)).all()
    assert frozen == ["frozen"]

    assert jobs.refund_free_leaders(now=utcnow()) == 1
    assert jobs.refund_free_leaders(now=utcnow()) == 0  # once
    (refund,) = db.session.scalars(select(Refund).where(Refund.order_id == leader_order)).all()
    assert (refund.amount_fen, refund.keeps_goods, refund.status) == (6000, True, "processing")
    shop.deliver(sandbox.complete_refund(refund.refund_no))
    db.session.expire_all()
    # The money back in full; the order stays paid and its goods still ship (免单).
    order = db.session.get(Order, leader_order)
    assert (order.status, order.paid_fen, order.refunded_fen) == ("paid", 6000, 6000)
    from backend.orders.models import OrderLine
    assert [(ln.status, ln.refunded_fen) for ln in db.session.scalars(
        select(OrderLine).where(OrderLine.order_id == leader_order))] == [("normal", 6000)]
    # The rewards on the leader's order are cancelled; the joiner's order stands.
    assert db.session.scalars(select(RewardAccrual.status).where(RewardAccrual.order_id == leader_order)).all() == [
        "cancelled"]
    assert db.session.get(Order, joined["order"]["id"]).status == "paid"
    # The leader keeps the reward points for filling the group, once.
    assert db.session.scalar(select(func.count()).select_from(PointsEntry).where(
        PointsEntry.member_id == leader.id, PointsEntry.kind == "group_leader")) == 1
    page = client.get(f"/api/v1/mp/group-buys/groups/{gid}", headers=factory.member_headers(a)).json
    assert page["status"] == "filled" and page["leader_refunded_at"] is not None
    assert page["campaign"]["free_leader"] is True
    # The refund does not free the leader's seat: the group stays filled and both ship;
    # nothing is left to refund on the leader's order.
    boss = factory.staff_headers(factory.staff(t))
    for oid in (leader_order, joined["order"]["id"]):
        ship = client.post(f"/api/v1/admin/shop/orders/{oid}/ship", headers=boss,
                           json={"company": "顺丰", "tracking_no": f"SF10{oid}"})
        assert ship.status_code == 200, ship.json
    again = client.post(f"/api/v1/admin/shop/orders/{leader_order}/refunds", headers=boss, json={"reason": "再退"})
    assert (again.status_code, again.json["code"]) == (409, "nothing_to_refund")


def test_a_campaign_without_free_leader_owes_the_leader_nothing(client, factory, shop):
    t = factory.tenant()
    cid = _campaign(client, factory, shop, t, size=2)
    leader, a = factory.member(t), factory.member(t)
    opened = client.post(f"/api/v1/mp/group-buys/{cid}/open", headers=factory.member_headers(leader),
                         json={"receiver": RECEIVER}).json
    joined = client.post(f"/api/v1/mp/group-buys/groups/{opened['group']['id']}/join",
                         headers=factory.member_headers(a), json={"receiver": RECEIVER}).json
    _pay(shop, t, leader, opened["order"]["id"])
    _pay(shop, t, a, joined["order"]["id"])
    assert jobs.refund_free_leaders(now=utcnow()) == 0
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0
