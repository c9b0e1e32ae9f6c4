"""Rewards through their life on the real database: frozen at payment, settled N days
after completion by the job (high-water mark), cancelled or reversed by refunds."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.db import unit_of_work
from backend.extensions import db
from backend.finance import jobs
from backend.finance import service as finance
from backend.finance.models import RewardAccrual, SettlementMark
from backend.ledger.models import AccountKind as K
from backend.ledger.models import Posting
from backend.ledger.service import balances_of
from tests.finance_factories import (
    T0,
    activate_plan,
    assert_ledger_balanced,
    balances,
    days,
    paid_order,
    rules,
)


def deck(factory):
    """The deck's chain A → B → C → D → e with the 30/20/10% plan."""
    t = factory.tenant()
    activate_plan(t)
    a, b, c, d, e = factory.chain(t, 5)
    return t, a, b, c, d, e


def statuses(order_id: int) -> list[str]:
    return list(db.session.scalars(select(RewardAccrual.status).where(RewardAccrual.order_id == order_id)
                                   .order_by(RewardAccrual.id)))


def complete(t, order_id, at):
    with unit_of_work():
        return finance.on_order_completed(tenant_id=t.id, order_id=order_id, completed_at=at)


def test_payment_freezes_the_decks_example_rewards_and_books_the_payment(factory):
    t, a, b, c, d, e = deck(factory)
    order_id, _, _ = paid_order(t, e, [(15000, 5000)])
    assert [balances(t, m)["frozen"] for m in (a, b, c, d)] == [0, 1000, 2000, 3000]
    assert all(balances(t, m)["available"] == 0 for m in (a, b, c, d))
    with unit_of_work():
        house = balances_of(tenant_id=t.id, owner_id=0)
    assert house == {K.WECHAT_CLEARING: -15000, K.MERCHANT: 15000 - 6000}
    assert statuses(order_id) == ["frozen"]
    assert_ledger_balanced(t)


def test_a_repeated_payment_freezes_nothing_twice(factory):
    t, a, b, c, d, e = deck(factory)
    order_id, line_ids, payouts = paid_order(t, e, [(15000, 5000), (2000, 1000)])
    for _ in range(3):
        with unit_of_work():
            again = finance.on_order_paid(tenant_id=t.id, order_id=order_id, paid_fen=17000, payouts=payouts, now=T0)
        assert sorted(x.order_line_id for x in again) == sorted(line_ids)
    assert balances(t, d)["frozen"] == 3000 + 300
    assert db.session.scalar(select(func.count()).select_from(Posting)) == 3  # payment + one per line
    assert_ledger_balanced(t)


def test_frozen_rewards_settle_n_days_after_completion_and_not_before(factory):
    t, a, b, c, d, e = deck(factory)
    rules(t, settle_after_days=7)
    order_id, _, _ = paid_order(t, e, [(15000, 5000)])
    assert jobs.settle_due_rewards(now=T0 + days(30)) == 0  # not completed: nothing is due
    assert complete(t, order_id, T0 + days(3)) == 1
    assert jobs.settle_due_rewards(now=T0 + days(10) - days(1 / 86400)) == 0
    assert jobs.settle_due_rewards(now=T0 + days(10)) == 1
    assert [balances(t, m) for m in (b, c, d)] == [
        {"frozen": 0, "available": 1000, "stored": 0}, {"frozen": 0, "available": 2000, "stored": 0},
        {"frozen": 0, "available": 3000, "stored": 0}]
    assert statuses(order_id) == ["settled"]
    assert jobs.settle_due_rewards(now=T0 + days(20)) == 0  # nothing settles twice
    assert balances(t, d)["available"] == 3000
    assert_ledger_balanced(t)


def test_completion_is_idempotent_and_keeps_the_first_date(factory):
    t, *_, e = deck(factory)
    order_id, _, _ = paid_order(t, e, [(15000, 5000)])
    complete(t, order_id, T0 + days(1))
    assert complete(t, order_id, T0 + days(5)) == 0
    row = db.session.scalar(select(RewardAccrual))
    assert row.settle_due_at == T0 + days(8)


def test_a_refund_before_settlement_cancels_only_the_refunded_lines(factory):
    t, a, b, c, d, e = deck(factory)
    order_id, (first, second), _ = paid_order(t, e, [(15000, 5000), (2000, 1000)])
    with unit_of_work():
        result = finance.on_lines_refunded(tenant_id=t.id, order_id=order_id, order_line_ids=[first], now=T0,
                                           refund_fen=15000, refund_key="R1")
    assert (result.cancelled, result.reversed) == ([first], [])
    assert [balances(t, m)["frozen"] for m in (b, c, d)] == [100, 200, 300]
    assert statuses(order_id) == ["cancelled", "frozen"]
    complete(t, order_id, T0)
    assert jobs.settle_due_rewards(now=T0 + days(7)) == 1
    assert [balances(t, m)["available"] for m in (b, c, d)] == [100, 200, 300]
    with unit_of_work():
        house = balances_of(tenant_id=t.id, owner_id=0)
    assert house == {K.WECHAT_CLEARING: -2000, K.MERCHANT: 2000 - 600}
    assert_ledger_balanced(t)


def test_a_refund_after_settlement_reverses_all_levels_and_may_leave_a_negative_balance(factory):
    t, a, b, c, d, e = deck(factory)
    order_id, (line,), _ = paid_order(t, e, [(15000, 5000)])
    complete(t, order_id, T0)
    jobs.settle_due_rewards(now=T0 + days(7))
    from tests.finance_factories import give_available

    give_available(t, d, 1)  # so a withdrawal would have had something to take
    with unit_of_work():
        from backend.finance.withdrawals import apply_withdrawal

        apply_withdrawal(tenant_id=t.id, member_id=d.id, amount_fen=2500, now=T0 + days(8))
    with unit_of_work():
        result = finance.on_lines_refunded(tenant_id=t.id, order_id=order_id, order_line_ids=[line],
                                           now=T0 + days(9), refund_fen=15000, refund_key="R9")
    assert result.reversed == [line] and result.cancelled == []
    assert [balances(t, m)["available"] for m in (b, c, d)] == [0, 0, 3000 + 1 - 2500 - 3000]
    assert statuses(order_id) == ["reversed"]
    with unit_of_work():  # a second delivery of the same refund changes nothing
        again = finance.on_lines_refunded(tenant_id=t.id, order_id=order_id, order_line_ids=[line],
                                          now=T0 + days(9), refund_fen=15000, refund_key="R9")
    assert (again.cancelled, again.reversed) == ([], [])
    assert balances(t, d)["available"] == -2499
    assert_ledger_balanced(t)


def test_a_negative_balance_is_recovered_from_later_earnings(factory):
    t, a, b, c, d, e = deck(factory)
    order_id, (line,), _ = paid_order(t, e, [(15000, 5000)])
    complete(t, order_id, T0)
    jobs.settle_due_rewards(now=T0 + days(7))
    with unit_of_work():
        from backend.finance.withdrawals import apply_withdrawal

        apply_withdrawal(tenant_id=t.id, member_id=d.id, amount_fen=3000, now=T0 + days(7))
    with unit_of_work():
        finance.on_lines_refunded(tenant_id=t.id, order_id=order_id, order_line_ids=[line], now=T0 + days(8))
    assert balances(t, d)["available"] == -3000
    later, _, _ = paid_order(t, e, [(25000, 5000)], now=T0 + days(10))  # D earns 6000
    complete(t, later, T0 + days(10))
    jobs.settle_due_rewards(now=T0 + days(17))
    assert balances(t, d)["available"] == 3000
    assert_ledger_balanced(t)


def test_the_high_water_mark_resumes_in_batches_and_never_moves_back(factory, monkeypatch):
    t, *_, e = deck(factory)
    orders = [paid_order(t, e, [(15000, 5000)])[0] for _ in range(5)]
    for i, order_id in enumerate(orders):
        complete(t, order_id, T0 + days(i / 24))  # an hour apart
    monkeypatch.setattr(jobs, "SETTLE_BATCH", 2)
    assert jobs.settle_due_rewards(now=T0 + days(7) + days(2 / 24)) == 3  # batches of 2, 1
    mark = db.session.scalar(select(SettlementMark).where(SettlementMark.tenant_id == t.id))
    third = db.session.scalar(select(RewardAccrual).where(RewardAccrual.order_id == orders[2]))
    assert (mark.through_at, mark.through_id, mark.settled_total) == (third.settle_due_at, third.id, 3)
    assert jobs.settle_due_rewards(now=T0 + days(8)) == 2
    assert [statuses(o) for o in orders] == [["settled"]] * 5
    assert_ledger_balanced(t)


def test_an_order_completed_behind_the_mark_is_scheduled_after_it(factory):
    t, *_, e = deck(factory)
    rules(t, settle_after_days=7)
    early, _, _ = paid_order(t, e, [(15000, 5000)])
    late, _, _ = paid_order(t, e, [(15000, 5000)])
    complete(t, early, T0 + days(5))
    jobs.settle_due_rewards(now=T0 + days(12))  # the mark is now at early's due time
    rules(t, settle_after_days=1)  # shortened: late's due would fall behind the mark
    complete(t, late, T0 + days(6))
    row = db.session.scalar(select(RewardAccrual).where(RewardAccrual.order_id == late))
    assert row.settle_due_at == T0 + days(12) + days(1 / 86400)
    assert jobs.settle_due_rewards(now=T0 + days(12)) == 0
    assert jobs.settle_due_rewards(now=T0 + days(13)) == 1
    assert statuses(late) == ["settled"]


def test_settlement_of_one_tenant_never_touches_another(factory):
    t1, *_, e1 = deck(factory)
    t2, *_, d2, e2 = deck(factory)
    o1, _, _ = paid_order(t1, e1, [(15000, 5000)])
    o2, _, _ = paid_order(t2, e2, [(15000, 5000)])
    complete(t1, o1, T0)
    complete(t2, o2, T0 + days(3))
    assert jobs.settle_due_rewards(now=T0 + days(7)) == 1
    assert statuses(o1) == ["settled"] and statuses(o2) == ["frozen"]
    assert balances(t2, d2)["frozen"] == 3000


def test_bonuses_go_straight_to_the_available_balance_once(factory):
    from types import SimpleNamespace

    t = factory.tenant()
    m = factory.member(t)
    bonus = SimpleNamespace(id=77, beneficiary_id=m.id, amount_fen=8000, order_line_id=None)
    merchant_line = SimpleNamespace(id=78, beneficiary_id=None, amount_fen=100, order_line_id=None)
    with unit_of_work():
        assert finance.credit_bonuses(tenant_id=t.id, payouts=[bonus, merchant_line], now=T0) == 1
    with unit_of_work():
        assert finance.credit_bonuses(tenant_id=t.id, payouts=[bonus], now=T0) == 0
    assert balances(t, m) == {"frozen": 0, "available": 8000, "stored": 0}
    assert_ledger_balanced(t)


def test_settlement_tells_each_member_once_what_became_withdrawable(factory):
    from backend.notifications.models import OutboxMessage

    t, a, b, c, d, e = deck(factory)
    first, _, _ = paid_order(t, e, [(15000, 5000)])
    second, _, _ = paid_order(t, e, [(15000, 5000), (2000, 1000)])
    complete(t, first, T0)
    complete(t, second, T0)
    jobs.settle_due_rewards(now=T0 + days(7))
    jobs.settle_due_rewards(now=T0 + days(8))
    alerts = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "settlement")).all()
    assert sorted((m.member_id, m.payload["amount_fen"], m.payload["count"]) for m in alerts) == [
        (b.id, 2100, 3), (c.id, 4200, 3), (d.id, 6300, 3)]


def test_the_demo_tenant_gets_its_finance_rules(factory):
    from backend.finance.demo import DEMO_RULES, seed

    t = factory.tenant()
    with unit_of_work():
        seed(t)
    with unit_of_work():
        shown = finance.get_rules(tenant_id=t.id).as_dict()
    assert {k: shown[k] for k in DEMO_RULES} == DEMO_RULES


def test_referral_bonuses_recorded_by_the_rewards_service_become_available_once(factory):
    from backend.db import utcnow
    from backend.finance.models import FinanceCursor
    from backend.rewards import service as rewards

    t = factory.tenant()
    activate_plan(t, {"name": "代理", "agents": {"levels": [
        {"key": "l3", "name": "三级代理", "rate": "5%", "referral_bonus_fen": {"lower": 0, "peer": 3000, "over": 0}},
        {"key": "l1", "name": "一级代理", "rate": "10%",
         "referral_bonus_fen": {"lower": 10000, "peer": 8000, "over": 5000}}]}})
    parent, child = factory.chain(t, 2)
    with unit_of_work():
        rewards.set_member_level(tenant_id=t.id, member_id=parent.id, actor="staff:1", agent_level="l1")
        rewards.set_member_level(tenant_id=t.id, member_id=child.id, actor="staff:1", agent_level="l3")
    now = utcnow()
    assert jobs.credit_reward_bonuses(now=now) == 1
    assert jobs.credit_reward_bonuses(now=now) == 0  # seen again (too recent to pass), posted once
    assert balances(t, parent) == {"frozen": 0, "available": 10000, "stored": 0}
    assert db.session.scalar(select(FinanceCursor.position)) == 0
    assert jobs.credit_reward_bonuses(now=now + days(1)) == 0
    assert db.session.scalar(select(FinanceCursor.position)) > 0
    from backend.finance.statements import member_statement

    [line] = member_statement(tenant_id=t.id, member_id=parent.id)["items"]
    assert (line["title"], line["amount_fen"], line["rule"]["title"]) == ("奖励入账", 10000, "下级推荐奖")
    assert_ledger_balanced(t)


def test_frozen_rewards_queue_one_new_commission_alert_per_beneficiary_and_no_more_on_replay(factory):
    from backend.notifications.models import OutboxMessage

    t, a, b, c, d, e = deck(factory)
    order_id, _, payouts = paid_order(t, e, [(15000, 5000)])
    with unit_of_work():
        finance.on_order_paid(tenant_id=t.id, order_id=order_id, paid_fen=15000, payouts=payouts, now=T0)
    alerts = list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.tenant_id == t.id, OutboxMessage.kind == "commission")
        .order_by(OutboxMessage.member_id)))
    assert [(x.member_id, x.payload["amount_fen"]) for x in alerts] == [
        (b.id, 1000), (c.id, 2000), (d.id, 3000)]
