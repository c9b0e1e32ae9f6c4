"""Real threads against MariaDB: buyers racing for the last pieces never oversell; the
same payment notification delivered ten times at once pays once, with one set of
rewards; a late payment racing the timeout job leaves the order paid, not cancelled."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from backend.catalog.models import Sku
from backend.db import utcnow
from backend.extensions import db
from backend.ledger import service as ledger
from backend.ledger.models import Posting
from backend.orders import service as orders
from backend.orders.models import Order
from backend.payments import jobs
from backend.payments.models import PaymentIssue
from backend.rewards.models import Payout, RewardLine
from tests.concurrency import race
from tests.orders_factories import RECEIVER

pytestmark = pytest.mark.mariadb


def _place(tid: int, member_id: int, items: list[tuple[int, int]]) -> Any:
    def job() -> int:
        return orders.create_order(tenant_id=tid, member_id=member_id,
                                   items=[orders.LineRequest(sku_id=s, quantity=q) for s, q in items],
                                   receiver=orders.Receiver(**RECEIVER), now=utcnow()).id
    return job


def test_thirty_buyers_on_the_last_five_pieces_make_exactly_five_orders(app, factory, shop):
    t = factory.tenant()
    _, sku = shop.product(t, stock=5)
    buyers = [factory.member(t).id for _ in range(30)]
    outcomes = race(app, [_place(t.id, b, [(sku, 1)]) for b in buyers])
    placed = [o for o in outcomes if isinstance(o, int)]
    assert len(placed) == 5 and outcomes.count("out_of_stock") == 25
    s = db.session.get(Sku, sku)
    assert (s.stock, s.sold) == (0, 5)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 5


def test_crossing_multi_sku_orders_neither_oversell_nor_deadlock(app, factory, shop):
    t = factory.tenant()
    _, tea = shop.product(t, stock=7)
    _, cup = shop.product(t, stock=7, name="茶杯")
    buyers = [factory.member(t).id for _ in range(20)]
    outcomes = race(app, [_place(t.id, b, [(tea, 2), (cup, 1)] if i % 2 else [(cup, 2), (tea, 1)])
                          for i, b in enumerate(buyers)])
    assert all(isinstance(o, int) or o == "out_of_stock" for o in outcomes), outcomes
    lines = db.session.execute(select(Sku.id, Sku.stock, Sku.sold).where(Sku.id.in_([tea, cup]))).all()
    assert all(stock >= 0 and stock + sold == 7 for _, stock, sold in lines)
    ordered = {tea: 0, cup: 0}
    for oid in (o for o in outcomes if isinstance(o, int)):
        for ln in orders.order_lines(tenant_id=t.id, order_ids=[oid])[oid]:
            ordered[ln.sku_id] += ln.quantity
    assert {sku: sold for sku, _, sold in lines} == ordered


@pytest.mark.parametrize("followup", ["inline", "worker"])
def test_the_same_notification_ten_times_at_once_pays_once_with_one_set_of_rewards(app, factory, shop, followup,
                                                                                     monkeypatch):
    import dataclasses

    from backend.flows import paid_order as paid_followup

    monkeypatch.setitem(app.config, "SIYU_SETTINGS",
                        dataclasses.replace(app.config["SIYU_SETTINGS"], paid_followup=followup))
    t = factory.tenant()
    shop.plan(t)
    a, b, c = factory.chain(t, 3)
    buyer = factory.member(t, parent=c)
    _, sku = shop.product(t, price_fen=10000, cost_fen=4000)
    order = shop.order(t, buyer, [(sku, 1)])
    n = shop.payment(t, buyer, order)
    deliveries = shop.deliver(n, times=10, concurrency=10)
    assert [d.result.status_code for d in deliveries] == [204] * 10
    if followup == "worker":  # the worker's next batch, twice: the second finds nothing
        assert [paid_followup.drain(), paid_followup.drain()] == [1, 0]
    db.session.rollback()
    assert db.session.get(Order, order.id).status == "paid"
    assert db.session.scalar(select(func.count()).select_from(RewardLine)) == 1
    paid = dict(db.session.execute(select(Payout.beneficiary_id, Payout.amount_fen)
                                   .where(Payout.order_id == order.id)).all())
    assert paid == {c.id: 1800, b.id: 1200, a.id: 600, None: 2400}
    assert db.session.scalar(select(func.count()).select_from(PaymentIssue)) == 0
    assert db.session.scalar(select(func.count()).select_from(Posting).where(Posting.order_id == order.id)) == 2
    assert ledger.balances_of(tenant_id=t.id, owner_id=c.id) == {"member_frozen": 1800}
    assert ledger.check_ledger(tenant_id=t.id).ok


def test_a_late_payment_racing_the_timeout_job_leaves_the_order_paid(app, factory, shop):
    t = factory.tenant()
    buyer = factory.member(t)
    _, sku = shop.product(t, stock=1)
    order = shop.order(t, buyer, [(sku, 1)])
    n = shop.payment(t, buyer, order)
    later = shop.expire(order)
    race(app, [lambda: shop.deliver(n)[0].result.status_code,
               lambda: jobs.cancel_unpaid_orders(now=later)], own_unit=False)
    o = db.session.get(Order, order.id)
    assert (o.status, o.cancelled_at) == ("paid", None)
    assert db.session.get(Sku, sku).stock == 0
    assert db.session.scalar(select(func.count()).select_from(PaymentIssue)) == 0
