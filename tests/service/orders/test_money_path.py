"""The money path through finance's ledger: payment in, rewards frozen once, settled
after completion, cancelled by a refund before settlement and reversed after it; the
ledger rebuilt from its entries always matches its balances and sums to zero."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.finance import jobs as finance_jobs
from backend.ledger import service as ledger
from backend.ledger.models import AccountKind as K
from backend.ledger.models import Posting
from backend.orders import jobs
from backend.orders import service as orders
from backend.payments import service as payments


def _balances(t: Any, *owners: Any) -> dict[Any, dict[str, int]]:
    db.session.rollback()
    return {o: {k: v for k, v in ledger.balances_of(tenant_id=t.id, owner_id=0 if o == "tenant" else o.id).items()
                if v} for o in owners}


def _assert_ledger_sound(t: Any) -> None:
    db.session.rollback()
    report = ledger.check_ledger(tenant_id=t.id)
    assert report.ok, report.as_dict()


def _setup(factory: Any, shop: Any) -> tuple[Any, list[Any], Any, int]:
    t = factory.tenant()
    shop.plan(t)
    a, b, c = factory.chain(t, 3)
    buyer = factory.member(t, parent=c)
    _, sku = shop.product(t, price_fen=10000, cost_fen=4000, stock=10)
    return t, [a, b, c], buyer, sku


def test_a_payment_posts_the_money_in_and_freezes_each_reward_once(factory, shop):
    t, (a, b, c), buyer, sku = _setup(factory, shop)
    order = shop.order(t, buyer, [(sku, 1)])
    n = shop.payment(t, buyer, order)
    shop.deliver(n, times=3)
    bal = _balances(t, a, b, c, "tenant")
    assert bal[c] == {K.MEMBER_FROZEN: 1800} and bal[b] == {K.MEMBER_FROZEN: 1200} and bal[a] == {K.MEMBER_FROZEN: 600}
    assert bal["tenant"] == {K.WECHAT_CLEARING: -10000, K.MERCHANT: 10000 - 3600}
    keys = set(db.session.scalars(select(Posting.idem_key).where(Posting.order_id == order.id)))
    line = orders.order_lines(tenant_id=t.id, order_ids=[order.id])[order.id][0]
    assert keys == {f"order:paid:{order.id}", f"reward:freeze:{line.id}"}
    _assert_ledger_sound(t)


def test_a_refund_before_settlement_cancels_the_frozen_rewards(factory, shop, sandbox):
    t, (a, b, c), buyer, sku = _setup(factory, shop)
    order = shop.paid_order(t, buyer, [(sku, 1)])
    with unit_of_work():
        refund = payments.refund_order(tenant_id=t.id, order_id=order.id, order_line_id=None, reason="退货",
                                       actor="staff:1", now=utcnow())
    n = sandbox.complete_refund(refund.refund_no)
    shop.deliver(n, times=2)
    bal = _balances(t, a, b, c, "tenant")
    assert bal[a] == bal[b] == bal[c] == {}
    assert bal["tenant"] == {}  # the money went back out the way it came in
    _assert_ledger_sound(t)


def test_completion_settles_after_the_window_and_a_later_refund_reverses(factory, shop, sandbox):
    t, (a, b, c), buyer, sku = _setup(factory, shop)
    order = shop.paid_order(t, buyer, [(sku, 1)])
    now = utcnow()
    with unit_of_work():
        orders.ship_order(tenant_id=t.id, order_id=order.id, company="顺丰速运", tracking_no="SF0001", actor="x",
                          now=now)
    with unit_of_work():
        orders.confirm_receipt(tenant_id=t.id, member_id=buyer.id, order_id=order.id, now=now)
    assert jobs.complete_due_orders(now=now) == 1
    assert finance_jobs.settle_due_rewards(now=now + timedelta(days=6)) == 0
    assert _balances(t, c)[c] == {K.MEMBER_FROZEN: 1800}
    assert finance_jobs.settle_due_rewards(now=now + timedelta(days=7, seconds=2)) == 1
    assert _balances(t, c)[c] == {K.MEMBER_AVAILABLE: 1800}
    with unit_of_work():
        refund = payments.refund_order(tenant_id=t.id, order_id=order.id, order_line_id=None, reason="七天无理由",
                                       actor="staff:1", now=utcnow())
    shop.deliver(sandbox.complete_refund(refund.refund_no))
    bal = _balances(t, a, b, c)
    assert bal[a] == bal[b] == bal[c] == {}
    _assert_ledger_sound(t)


def test_a_line_refund_cancels_only_that_lines_rewards(factory, shop, sandbox):
    t, (a, b, c), buyer, sku = _setup(factory, shop)
    _, cup = shop.product(t, price_fen=5000, cost_fen=2000, name="茶杯")
    order = shop.paid_order(t, buyer, [(sku, 1), (cup, 1)])
    assert _balances(t, c)[c] == {K.MEMBER_FROZEN: 1800 + 900}
    cup_line = next(ln for ln in orders.order_lines(tenant_id=t.id, order_ids=[order.id])[order.id]
                    if ln.sku_id == cup)
    with unit_of_work():
        refund = payments.refund_order(tenant_id=t.id, order_id=order.id, order_line_id=cup_line.id, reason="破损",
                                       actor="staff:1", now=utcnow())
    shop.deliver(sandbox.complete_refund(refund.refund_no))
    assert _balances(t, c)[c] == {K.MEMBER_FROZEN: 1800}
    assert db.session.scalar(select(func.count()).select_from(Posting).where(Posting.order_id == order.id)) == 5
    _assert_ledger_sound(t)
