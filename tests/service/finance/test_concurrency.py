"""Real threads against MariaDB: money is never overdrawn, never posted twice, never
settled twice, and the balances always equal the ledger rebuilt from its entries."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.finance import jobs
from backend.finance import service as finance
from backend.finance import withdrawals as wd
from backend.finance.models import RewardAccrual, Withdrawal
from backend.ledger.models import Posting
from tests.concurrency import race
from tests.finance_factories import (
    T0,
    activate_plan,
    assert_ledger_balanced,
    balances,
    days,
    give_available,
    give_stored,
    next_id,
    paid_order,
    rules,
)

pytestmark = pytest.mark.mariadb


def test_fifty_withdrawals_at_once_never_overdraw_one_balance(app, factory):
    t = factory.tenant()
    rules(t, withdraw_fee_rate="1%")
    m = factory.member(t)
    give_available(t, m, 10_000)
    tid, mid = t.id, m.id
    outcomes = race(app, retries=10, jobs=[lambda: wd.apply_withdrawal(tenant_id=tid, member_id=mid, amount_fen=300, now=T0).id
                          for _ in range(50)])
    codes = Counter(o if isinstance(o, str) else "ok" for o in outcomes)
    assert codes == {"ok": 33, "insufficient_balance": 17}, codes
    assert balances(t, m)["available"] == 100
    assert db.session.scalar(select(func.sum(Withdrawal.amount_fen))) == 9900
    assert db.session.scalar(select(func.sum(Withdrawal.fee_fen))) == 33 * 3
    assert_ledger_balanced(t)


def test_withdrawals_racing_the_daily_limit_stop_exactly_at_it(app, factory):
    t = factory.tenant()
    rules(t, withdraw_daily_limit_fen=5000)
    m = factory.member(t)
    give_available(t, m, 100_000)
    tid, mid = t.id, m.id
    outcomes = race(app, retries=10, jobs=[lambda: wd.apply_withdrawal(tenant_id=tid, member_id=mid, amount_fen=700, now=T0).id
                          for _ in range(20)])
    assert Counter(o if isinstance(o, str) else "ok" for o in outcomes) == {"ok": 7, "withdraw_daily_limit": 13}
    assert balances(t, m)["available"] == 100_000 - 4900
    assert_ledger_balanced(t)


def test_the_same_paid_order_handed_over_ten_times_at_once_freezes_once(app, factory):
    t = factory.tenant()
    activate_plan(t)
    _, b, c, d, e = factory.chain(t, 5)
    _, _, payouts = paid_order(t, e, [(15000, 5000)])  # real payout rows, from the rewards service
    # A second order with the same rewards, handed over by ten racers at once. The orders
    # domain serializes on the order row; even without that lock the posting keys hold.
    order_id, tid = next_id(), t.id
    again = [SimpleNamespace(id=p.id + 10_000, order_line_id=p.order_line_id + 10_000,
                             beneficiary_id=p.beneficiary_id, amount_fen=p.amount_fen) for p in payouts]
    outcomes = race(app, retries=10, jobs=[lambda: len(finance.on_order_paid(tenant_id=tid, order_id=order_id, paid_fen=15000,
                                                             payouts=again, now=T0)) for _ in range(10)])
    assert outcomes == [1] * 10, outcomes
    assert [balances(t, m)["frozen"] for m in (b, c, d)] == [2000, 4000, 6000]
    assert db.session.scalar(select(func.count()).select_from(RewardAccrual)) == 2
    assert db.session.scalar(select(func.count()).select_from(Posting)) == 4  # two payments, two freezes
    assert_ledger_balanced(t)


def test_forty_orders_paying_the_same_upline_at_once_keep_every_balance_exact(app, factory):
    t = factory.tenant()
    activate_plan(t)
    _, b, c, d, e = factory.chain(t, 5)
    tid = t.id
    prepared = []
    for _ in range(40):
        lid = next_id()
        prepared.append((next_id(), [SimpleNamespace(id=next_id(), order_line_id=lid, beneficiary_id=who,
                                                     amount_fen=fen) for who, fen in
                                     ((d.id, 3000), (c.id, 2000), (b.id, 1000))]))
    outcomes = race(app, retries=10, jobs=[lambda o=o, p=p: len(finance.on_order_paid(tenant_id=tid, order_id=o, paid_fen=15000,
                                                                     payouts=p, now=T0)) for o, p in prepared])
    assert outcomes == [1] * 40, outcomes
    assert [balances(t, m)["frozen"] for m in (b, c, d)] == [40_000, 80_000, 120_000]
    assert_ledger_balanced(t)


def test_two_schedulers_settling_at_once_settle_each_line_once(app, factory):
    t = factory.tenant()
    activate_plan(t)
    _, b, c, d, e = factory.chain(t, 5)
    orders = [paid_order(t, e, [(15000, 5000)])[0] for _ in range(30)]
    from backend.db import unit_of_work

    for i, o in enumerate(orders):
        with unit_of_work():
            finance.on_order_completed(tenant_id=t.id, order_id=o, completed_at=T0 + days(i / 1440))
    settled = race(app, own_unit=False, jobs=[lambda: jobs.settle_due_rewards(now=T0 + days(8))] * 3)
    assert sum(settled) == 30, settled
    assert [balances(t, m)["available"] for m in (b, c, d)] == [30_000, 60_000, 90_000]
    assert db.session.scalar(select(func.count()).select_from(Posting).where(Posting.kind == "reward_settle")) == 30
    assert_ledger_balanced(t)


def test_completions_racing_the_settlement_job_are_never_left_behind_the_mark(app, factory):
    t = factory.tenant()
    activate_plan(t)
    *_, e = factory.chain(t, 5)
    rules(t, settle_after_days=0)
    orders = [paid_order(t, e, [(15000, 5000)])[0] for _ in range(20)]
    tid = t.id
    racers = [lambda o=o: finance.on_order_completed(tenant_id=tid, order_id=o, completed_at=T0 + days(1))
              for o in orders]
    racers += [lambda: finance.settle_due_batch(tenant_id=tid, now=T0 + days(2), limit=3) for _ in range(5)]
    # 25 threads on one chain's balances: InnoDB may pick any of them as a deadlock victim
    # several times running (seen once in CI with 3 retries); the product's callers (the
    # scheduler's next tick, the completion job) retry, and what is asserted is the mark.
    outcomes = race(app, racers, retries=10)
    assert all(isinstance(o, int) for o in outcomes), outcomes
    jobs.settle_due_rewards(now=T0 + days(2))
    db.session.rollback()
    assert set(db.session.scalars(select(RewardAccrual.status))) == {"settled"}
    assert_ledger_balanced(t)


def test_crossed_balance_transfers_neither_deadlock_nor_overdraw(app, factory):
    t = factory.tenant()
    rules(t, transfer_enabled=True)
    a, b = factory.member(t), factory.member(t)
    give_stored(t, a, 1000)
    give_stored(t, b, 1000)
    tid = t.id

    def send(src, dst):
        return lambda: finance.transfer_balance(tenant_id=tid, from_member_id=src, to_member_id=dst, amount_fen=150,
                                                client_token=f"tok-{next_id()}", now=T0).id

    outcomes = race(app, retries=10, jobs=[send(a.id, b.id) for _ in range(10)] + [send(b.id, a.id) for _ in range(10)])
    codes = Counter(o if isinstance(o, str) else "ok" for o in outcomes)
    assert set(codes) <= {"ok", "insufficient_balance"} and codes["ok"] >= 12, codes
    ba, bb = balances(t, a)["stored"], balances(t, b)["stored"]
    assert ba >= 0 and bb >= 0 and ba + bb == 2000
    assert_ledger_balanced(t)


def test_a_double_tap_with_one_client_token_makes_one_withdrawal(app, factory):
    t = factory.tenant()
    m = factory.member(t)
    give_available(t, m, 10_000)
    tid, mid = t.id, m.id
    outcomes = race(app, retries=10, jobs=[lambda: wd.apply_withdrawal(tenant_id=tid, member_id=mid, amount_fen=1000, now=T0,
                                                      client_token="tap-once-1").id for _ in range(10)])
    ids = {o for o in outcomes if isinstance(o, int)}
    assert len(ids) == 1 and set(outcomes) - ids <= {"duplicate_request"}, outcomes
    assert balances(t, m)["available"] == 9000
    assert_ledger_balanced(t)


def test_fifty_members_withdrawing_at_once_do_not_hold_each_other_up(app, factory):
    t = factory.tenant()
    rules(t, withdraw_daily_limit_fen=5000, withdraw_daily_count=3)
    members_ = [factory.member(t) for _ in range(50)]
    for m in members_:
        give_available(t, m, 2000)
    tid = t.id
    outcomes = race(app, retries=10, jobs=[lambda mid=m.id: wd.apply_withdrawal(tenant_id=tid, member_id=mid, amount_fen=1500,
                                                                now=T0).id for m in members_])
    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert {balances(t, m)["available"] for m in members_} == {500}
    assert_ledger_balanced(t)
