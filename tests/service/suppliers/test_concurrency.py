"""Real threads against MariaDB: a supplier's withdrawals racing the settlement of its
income never overdraw it, every income line settles once, and the ledger stays whole."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.db import run_in_unit_of_work, unit_of_work, utcnow
from backend.extensions import db
from backend.ledger import service as ledger
from backend.ledger.models import Posting
from backend.orders import service as orders
from backend.suppliers import jobs
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
