"""Real threads against MariaDB: a supplier's withdrawals racing the settlement of its
income never overdraw it, every income line settles once, and the ledger stays whole."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.db import run_in_unit_of_work, unit_of_work, utcnow
from backend.extensions import db
from backend.flows import jobs
from backend.ledger import service as ledger
from backend.ledger.models import Posting
from backend.orders import service as orders
from backend.suppliers import withdrawals as wd
from backend.suppliers.models import SupplierIncome, SupplierWithdrawal
from tests.concurrency import race
from tests.orders_factories import OrdersFactory
from tests.suppliers_factories import service_supplier

pytestmark = pytest.mark.mariadb


def _available(tenant_id: int, supplier_id: int) -> int:
    with unit_of_work():
        return ledger.balances_of(tenant_id=tenant_id, owner_id=-supplier_id).get("supplier_available", 0)


def test_withdrawals_racing_settlement_never_overdraw_and_each_line_settles_once(app, factory, sandbox):
    shop = OrdersFactory(app, sandbox)
    t = factory.tenant()
    sid, sku = service_supplier(t)  # income 9000 per order (10% commission)
    buyer = factory.member(t)
    paid = [shop.paid_order(t, buyer, [(sku, 1)]) for _ in range(6)]
    completed = utcnow()
    with unit_of_work():
        for o in paid:
            orders.ship_order(tenant_id=t.id, order_id=o.id, company="顺丰", tracking_no="SF0001", actor="test",
                              now=completed)
            orders.complete_order(tenant_id=t.id, order_id=o.id, now=completed)
    # Two orders' income settles first: 18000 available before the race.
    with unit_of_work():
        early = list(db.session.scalars(select(SupplierIncome.id).order_by(SupplierIncome.id).limit(2)))
        db.session.execute(SupplierIncome.__table__.update().where(SupplierIncome.id.not_in(early))
                           .values(settle_due_at=completed + timedelta(days=30)))
    at = completed + timedelta(days=8)
    assert jobs.settle_supplier_income(now=at) == 2
    with unit_of_work():
        db.session.execute(SupplierIncome.__table__.update().where(SupplierIncome.status == "frozen")
                           .values(settle_due_at=completed + timedelta(days=7)))
    tid = t.id
    settle = [lambda: jobs.settle_supplier_income(now=at) for _ in range(2)]
    withdraw = [lambda: run_in_unit_of_work(
        lambda: wd.apply_withdrawal(tenant_id=tid, supplier_id=sid, amount_fen=2500, now=at).id, retries=10)
        for _ in range(24)]
    outcomes = race(app, settle + withdraw, own_unit=False, retries=10)
    settled_now = outcomes[:2]
    assert all(isinstance(n, int) for n in settled_now), settled_now
    assert sum(settled_now) == 4
    codes = Counter(o if isinstance(o, str) else "ok" for o in outcomes[2:])
    assert set(codes) <= {"ok", "insufficient_balance"}, codes
    # 54000 settled in all; each success took 2500; whatever raced, nothing overdrew.
    ok = codes["ok"]
    assert 7 <= ok <= 21, codes
    assert _available(tid, sid) == 54000 - 2500 * ok >= 0
    with unit_of_work():
        assert db.session.scalar(select(func.count()).select_from(Posting)
                                 .where(Posting.kind == "supplier_settle")) == 6
        assert db.session.scalar(select(func.sum(SupplierWithdrawal.amount_fen))) == 2500 * ok
        assert ledger.check_ledger(tenant_id=tid).ok


def test_splits_requested_by_racing_runners_and_stormed_by_notifications_move_money_once(app, factory, sandbox):
    from backend.flows import supplier_settlement
    from backend.suppliers.models import SharingOrder, SharingShare

    shop = OrdersFactory(app, sandbox)
    t = factory.tenant()
    sid, sku = service_supplier(t, sharing_receiver="1900000109")
    buyer = factory.member(t)
    paid = [shop.paid_order(t, buyer, [(sku, 1)]) for _ in range(5)]
    assert all(sandbox.find_order(o.order_no).profit_sharing for o in paid)
    completed = utcnow()
    with unit_of_work():
        for o in paid:
            orders.ship_order(tenant_id=t.id, order_id=o.id, company="顺丰", tracking_no="SF0001", actor="test",
                              now=completed)
            orders.complete_order(tenant_id=t.id, order_id=o.id, now=completed)
    at = completed + timedelta(days=8)
    outcomes = race(app, [lambda: jobs.settle_supplier_income(now=at) for _ in range(3)], own_unit=False)
    assert sum(outcomes) == 5, outcomes
    tid = t.id
    with unit_of_work():
        assert db.session.scalar(select(func.count()).select_from(SharingOrder)) == 5
        assert db.session.scalar(select(func.count()).select_from(Posting)
                                 .where(Posting.kind == "sharing_request")) == 5
    assert len([s for s in sandbox.sharing_orders.values() if s.mchid == sandbox.find_order(paid[0].order_no).mchid
                and s.transaction_id in {db.session.get(type(paid[0]), o.id).transaction_id for o in paid}]) == 5
    # Every split finishes at WeChat; each notification arrives five times, five at once,
    # while two reconcile runners query the same splits.
    notes = [n for o in paid for so in sandbox.sharing_orders.values()
             if so.transaction_id == db.session.get(type(o), o.id).transaction_id
             for n in sandbox.finish_sharing(so.out_order_no)]
    db.session.rollback()
    later = at + timedelta(minutes=5)
    storm = [lambda n=n: shop.deliver(n, times=5, concurrency=5) for n in notes]
    reconcile = [lambda: supplier_settlement.reconcile_sharing(now=later) for _ in range(2)]
    outcomes = race(app, storm + reconcile, own_unit=False)
    for deliveries in outcomes[:len(notes)]:
        assert {d.result.status_code for d in deliveries} == {204}, deliveries
    with unit_of_work():
        results = list(db.session.scalars(select(SharingShare.result)))
        assert results == ["SUCCESS"] * 5
        assert db.session.scalar(select(func.count()).select_from(Posting)
                                 .where(Posting.kind == "sharing_done")) == 5
        balances = ledger.balances_of(tenant_id=tid, owner_id=0)
        assert balances["sharing_transit"] == 0
        assert ledger.balances_of(tenant_id=tid, owner_id=-sid).get("supplier_available", 0) == 0
        assert ledger.check_ledger(tenant_id=tid).ok
