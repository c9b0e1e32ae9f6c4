"""The paid-order follow-up under PAID_FOLLOWUP=worker: the notification only marks the
order paid; the worker's batches record the rewards, post the ledger and queue the
alerts, once, whatever runs them; a refund or completion first runs a pending one."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.db import run_in_unit_of_work, unit_of_work, utcnow
from backend.extensions import db
from backend.finance.models import RewardAccrual
from backend.flows import jobs
from backend.flows import paid_order as paid
from backend.ledger import service as ledger
from backend.ledger.models import Posting
from backend.notifications.models import OutboxMessage
from backend.orders.models import Order
from backend.payments import service as payments
from backend.rewards.models import Payout, RewardLine
from tests.concurrency import race


@pytest.fixture()
def worker_mode(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = dataclasses.replace(app.config["SIYU_SETTINGS"], paid_followup="worker")
    monkeypatch.setitem(app.config, "SIYU_SETTINGS", settings)


def _count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _member_rewards(order_ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for p in db.session.scalars(select(Payout).where(Payout.order_id.in_(order_ids), Payout.beneficiary_id.is_not(None))):
        out[p.beneficiary_id] = out.get(p.beneficiary_id, 0) + p.amount_fen
    return out


def _setup(factory: Any, shop: Any, buyers: int = 3) -> tuple[Any, list[Any], int, Any]:
    t = factory.tenant()
    shop.plan(t)
    a, b, c = factory.chain(t, 3)
    people = [factory.member(t, parent=c) for _ in range(buyers)]
    _, sku = shop.product(t, price_fen=10000, cost_fen=4000, stock=1000)
    return t, people, sku, (a, b, c)


def _ledger_ok(tenant_id: int) -> None:
    db.session.rollback()
    report = ledger.check_ledger(tenant_id=tenant_id)
    assert report.ok, report
    db.session.rollback()


def test_the_notification_marks_paid_and_the_worker_posts_everything_once(factory, shop, worker_mode):
    t, buyers, sku, (a, b, c) = _setup(factory, shop)
    orders = [shop.paid_order(t, buyer, [(sku, 2)]) for buyer in buyers]
    ids = [o.id for o in orders]
    # Answered after marking paid: nothing else yet.
    assert _count(Order, Order.id.in_(ids), Order.status == "paid", Order.followup_pending.is_(True)) == 3
    assert _count(Payout, Payout.order_id.in_(ids)) == 0
    assert _count(Posting, Posting.tenant_id == t.id) == 0
    # One batch does all three orders.
    assert run_in_unit_of_work(lambda: paid.follow_up_backlog(now=utcnow())) == 3
    assert _count(Order, Order.id.in_(ids), Order.followup_pending.is_(None)) == 3
    # Profit 2 × 60.00 per order: C 30%, B 20%, A 10%, as the inline path pays.
    assert _member_rewards(ids) == {c.id: 3 * 3600, b.id: 3 * 2400, a.id: 3 * 1200}
    assert _count(RewardLine, RewardLine.order_id.in_(ids)) == 3
    assert _count(RewardAccrual, RewardAccrual.order_id.in_(ids), RewardAccrual.status == "frozen") == 3
    assert _count(Posting, Posting.tenant_id == t.id) == 6  # a payment and a freeze per order
    assert _count(OutboxMessage, OutboxMessage.kind == "commission", OutboxMessage.tenant_id == t.id) == 9
    _ledger_ok(t.id)
    # Nothing is left: the job finds no work, and a repeat of any notification changes nothing.
    assert jobs.follow_up_paid_orders(now=utcnow()) == 0
    with unit_of_work():
        assert paid.follow_up(tenant_id=t.id, order_ids=ids, now=utcnow()) == 0
    assert _count(Payout, Payout.order_id.in_(ids)) == 9 + 3  # three members and the merchant per order


def test_the_worker_and_the_inline_path_pay_the_same(factory, shop, app, monkeypatch):
    inline_t, inline_buyers, inline_sku, inline_chain = _setup(factory, shop, buyers=2)
    inline_ids = [shop.paid_order(inline_t, m, [(inline_sku, 1)]).id for m in inline_buyers]
    monkeypatch.setitem(app.config, "SIYU_SETTINGS",
                        dataclasses.replace(app.config["SIYU_SETTINGS"], paid_followup="worker"))
    t, buyers, sku, chain = _setup(factory, shop, buyers=2)
    ids = [shop.paid_order(t, m, [(sku, 1)]).id for m in buyers]
    paid.drain()
    inline = _member_rewards(inline_ids)
    batched = _member_rewards(ids)
    assert [inline[m.id] for m in inline_chain] == [batched[m.id] for m in chain]


def test_a_parked_binding_is_confirmed_by_the_worker_before_rewards(factory, shop, worker_mode):
    from backend.members import service as members

    t = factory.tenant(bind_on="purchase", bind_expire_days=30)
    shop.plan(t)
    parent = factory.member(t)
    fan = factory.member(t)
    with unit_of_work():
        members.bind_member(tenant_id=t.id, member_id=fan.id, parent_id=parent.id, source="share", scene=None,
                            now=utcnow())
    _, sku = shop.product(t)
    order = shop.paid_order(t, fan, [(sku, 1)])
    paid.drain()
    db.session.expire_all()
    fan_row = members.get_member(tenant_id=t.id, member_id=fan.id)
    assert fan_row.parent_id == parent.id and fan_row.last_purchase_at is not None
    assert _member_rewards([order.id]) == {parent.id: 1800}  # 30% of the 60.00 profit


def test_the_worker_stamps_purchases_and_extends_expiring_bindings(factory, shop, worker_mode):
    from backend.members import service as members

    t = factory.tenant(bind_expire_days=7)
    parent = factory.member(t)
    buyer = factory.member(t, parent=parent)
    loner = factory.member(t)
    _, sku = shop.product(t)
    shop.paid_order(t, buyer, [(sku, 1)])
    shop.paid_order(t, loner, [(sku, 1)])
    before = utcnow().replace(microsecond=0)  # MariaDB keeps whole seconds
    paid.drain()
    db.session.expire_all()
    b = members.get_member(tenant_id=t.id, member_id=buyer.id)
    lone = members.get_member(tenant_id=t.id, member_id=loner.id)
    assert b.last_purchase_at >= before and b.bind_expires_at > before
    assert lone.last_purchase_at >= before and lone.bind_expires_at is None


def test_a_refund_of_a_pending_order_runs_its_follow_up_first(factory, shop, sandbox, worker_mode):
    t, (buyer,), sku, (a, b, c) = _setup(factory, shop, buyers=1)
    order = shop.paid_order(t, buyer, [(sku, 1)])
    with unit_of_work():
        refund = payments.refund_order(tenant_id=t.id, order_id=order.id, order_line_id=None, reason="缺货",
                                       actor="staff:1", now=utcnow())
    (d,) = shop.deliver(sandbox.complete_refund(refund.refund_no))
    assert d.result.status_code == 204
    # The rewards were recorded, frozen, then cancelled with the refund.
    assert _count(Order, Order.id == order.id, Order.followup_pending.is_(None), Order.status == "refunded") == 1
    assert _count(RewardAccrual, RewardAccrual.order_id == order.id, RewardAccrual.status == "cancelled") == 1
    balances = ledger.balances_of(tenant_id=t.id, owner_id=c.id)
    assert balances.get("member_frozen", 0) == 0
    _ledger_ok(t.id)
    assert paid.drain() == 0


def test_one_failing_order_holds_up_only_itself(factory, shop, worker_mode, monkeypatch):
    from backend.rewards import service as rewards

    t, buyers, sku, _ = _setup(factory, shop)
    ids = [shop.paid_order(t, m, [(sku, 1)]).id for m in buyers]
    real = rewards.record_orders_payouts
    poisoned = ids[1]

    def flaky(*, tenant_id: int, orders: Any, plan_version: int | None = None) -> Any:
        if any(snapshot.order_id == poisoned for snapshot, _ in orders):
            raise RuntimeError("a bug in one order")
        return real(tenant_id=tenant_id, orders=orders, plan_version=plan_version)

    monkeypatch.setattr(rewards, "record_orders_payouts", flaky)
    assert paid.drain() == 2
    assert _count(Order, Order.id.in_(ids), Order.followup_pending.is_(True)) == 1
    assert _count(Order, Order.id == poisoned, Order.followup_pending.is_(True)) == 1
    monkeypatch.setattr(rewards, "record_orders_payouts", real)
    assert paid.drain() == 1
    _ledger_ok(t.id)


@pytest.mark.mariadb
def test_concurrent_workers_share_the_backlog_and_post_each_order_once(app, factory, shop, worker_mode):
    t, buyers, sku, _ = _setup(factory, shop, buyers=6)
    ids = [shop.paid_order(t, buyers[i % 6], [(sku, 1 + i % 3)]).id for i in range(30)]
    outcomes = race(app, own_unit=False, jobs=[lambda: paid.drain(limit=4) for _ in range(4)])
    assert all(isinstance(o, int) for o in outcomes), outcomes
    db.session.rollback()
    # A drain stops at a partial batch, and SKIP LOCKED passes over orders another
    # holds: whatever is left is the next run's. Each order once, all of them.
    assert sum(outcomes) + paid.drain() == 30
    assert _count(Order, Order.id.in_(ids), Order.followup_pending.is_(True)) == 0
    assert _count(RewardLine, RewardLine.order_id.in_(ids)) == 30
    payouts, distinct = db.session.execute(select(
        func.count(), func.count(func.distinct(func.concat(Payout.order_line_id, ":", Payout.beneficiary_key,
                                                           ":", Payout.kind))))
        .where(Payout.order_id.in_(ids))).one()
    assert payouts == distinct == 30 * 4
    _ledger_ok(t.id)


def test_health_reports_the_backlog_and_a_stalled_one_without_failing(factory, shop, worker_mode, client):
    from datetime import timedelta

    t, buyers, sku, _ = _setup(factory, shop, buyers=2)
    for m in buyers:
        shop.paid_order(t, m, [(sku, 1)])
    count, age, stalled = paid.backlog(now=utcnow())
    assert count == 2 and age is not None and age >= 0 and not stalled
    assert paid.backlog(now=utcnow() + timedelta(minutes=3))[2] is True
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["paid_followup"].startswith("ok (2 paid orders pending")
    paid.drain()
    assert client.get("/healthz").get_json()["paid_followup"] == "ok (nothing pending)"


def test_the_scheduler_process_drains_the_backlog(factory, shop, worker_mode):
    """`python -m backend.jobs --once orders.follow_up_paid_orders`: the job, in its own
    process under its Redis lock, as a deployment runs it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import DATABASE_URL

    t, buyers, sku, (a, b, c) = _setup(factory, shop, buyers=3)
    ids = [shop.paid_order(t, m, [(sku, 2)]).id for m in buyers]
    db.session.rollback()
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "SECRET_KEY": "test-secret", "PAID_FOLLOWUP": "worker"}
    run = subprocess.run([sys.executable, "-m", "backend.jobs", "--once", "orders.follow_up_paid_orders"],
                         cwd=Path(__file__).resolve().parents[3], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and "done: 3" in run.stdout, (run.stdout, run.stderr)
    assert _count(Order, Order.id.in_(ids), Order.followup_pending.is_(True)) == 0
    assert _member_rewards(ids) == {c.id: 3 * 3600, b.id: 3 * 2400, a.id: 3 * 1200}
    _ledger_ok(t.id)


def test_health_names_a_stalled_backlog(factory, shop, worker_mode, client, monkeypatch):
    from datetime import timedelta

    t, (buyer,), sku, _ = _setup(factory, shop, buyers=1)
    shop.paid_order(t, buyer, [(sku, 1)])
    monkeypatch.setattr(paid, "STALLED_AFTER", timedelta(seconds=-1))
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"  # the web node still serves
    assert body["paid_followup"].startswith("stalled: 1 paid orders pending")
    assert "orders.follow_up_paid_orders" in body["paid_followup"]


def test_a_purchase_stamp_moves_only_when_a_minute_old(factory):
    # The follow-up leaves a buyer stamped within the minute unmatched (its row neither
    # changed nor locked while new orders of the same buyer insert): exact to the minute.
    from datetime import timedelta

    from backend.members import service as members

    t = factory.tenant(bind_expire_days=7)
    buyer = factory.member(t, parent=factory.member(t))
    first = utcnow().replace(microsecond=0)
    for at in (first, first + timedelta(seconds=59), first + timedelta(seconds=61)):
        with unit_of_work():
            members.record_purchases(tenant_id=t.id, member_ids=[buyer.id], now=at)
        db.session.expire_all()
        row = members.get_member(tenant_id=t.id, member_id=buyer.id)
        stamped = first if at < first + members.PURCHASE_STAMP_GRAIN else at
        assert (row.last_purchase_at, row.bind_expires_at) == (stamped, stamped + timedelta(days=7))
