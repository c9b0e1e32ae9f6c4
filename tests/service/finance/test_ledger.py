"""The ledger on the real database: balanced postings once per key, covered debits,
balances rebuilt from entries, the `flask ledger check` command."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select, update

from backend.db import unit_of_work
from backend.extensions import db
from backend.ledger import service as ledger
from backend.ledger.errors import InsufficientBalance, UnbalancedPosting
from backend.ledger.models import SHARDS, Entry, LedgerAccount, LedgerBalance, Posting
from backend.ledger.models import AccountKind as K
from backend.ledger.service import Leg, member, system
from tests.finance_factories import T0, assert_ledger_balanced


def credit(tenant_id: int, member_id: int, fen: int, key: str) -> ledger.PostingResult:
    return ledger.post(tenant_id=tenant_id, key=key, kind="test", now=T0, memo="测试入账",
                       legs=[Leg(system(K.MERCHANT), -fen), Leg(member(K.MEMBER_AVAILABLE, member_id), fen)])


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_posting_moves_money_between_accounts_and_sums_to_zero(factory):
    t = factory.tenant()
    m = factory.member(t)
    with unit_of_work():
        result = credit(t.id, m.id, 3000, "k1")
    assert result.created
    with unit_of_work():
        assert ledger.balances_of(tenant_id=t.id, owner_id=m.id) == {K.MEMBER_AVAILABLE: 3000}
        assert ledger.balances_of(tenant_id=t.id, owner_id=0) == {K.MERCHANT: -3000}
    entries = db.session.scalars(select(Entry.amount_fen).where(Entry.posting_id == result.posting_id)).all()
    assert sorted(entries) == [-3000, 3000]
    assert_ledger_balanced(t)


def test_the_same_key_posted_twice_is_one_posting_returned_twice(factory):
    t = factory.tenant()
    m = factory.member(t)
    with unit_of_work():
        first = credit(t.id, m.id, 500, "order:paid:1")
    with unit_of_work():
        again = credit(t.id, m.id, 500, "order:paid:1")
    assert (first.created, again.created, again.posting_id) == (True, False, first.posting_id)
    assert count(Posting) == 1 and count(Entry) == 2
    with unit_of_work():
        assert ledger.balances_of(tenant_id=t.id, owner_id=m.id)[K.MEMBER_AVAILABLE] == 500


def test_keys_are_per_tenant(factory):
    a, b = factory.tenant(), factory.tenant()
    ma, mb = factory.member(a), factory.member(b)
    with unit_of_work():
        assert credit(a.id, ma.id, 100, "same").created
        assert credit(b.id, mb.id, 200, "same").created
    assert count(Posting) == 2


@pytest.mark.parametrize("legs, message", [
    ([], "needs entries"),
    ([Leg(("merchant", 0), -100), Leg(("member_available", 5), 99)], "sum to -1"),
    ([Leg(("merchant", 0), 0), Leg(("member_available", 5), 0)], "zero-amount"),
    ([Leg(("merchant", 0), 100, covered=True), Leg(("member_available", 5), -100)], "only a debit"),
])
def test_unbalanced_or_odd_postings_are_refused_before_touching_anything(factory, legs, message):
    t = factory.tenant()
    with pytest.raises(UnbalancedPosting, match=message), unit_of_work():
        ledger.post(tenant_id=t.id, key="bad", kind="test", legs=legs, now=T0)
    assert count(Posting) == 0 and count(LedgerAccount) == 0


def test_a_float_amount_is_a_type_error(factory):
    t = factory.tenant()
    with pytest.raises(TypeError), unit_of_work():
        ledger.post(tenant_id=t.id, key="f", kind="test", now=T0,
                    legs=[Leg(system(K.MERCHANT), -1.5), Leg(member(K.MEMBER_AVAILABLE, 3), 1.5)])


def test_a_covered_debit_beyond_the_balance_is_409_and_writes_nothing(factory):
    t = factory.tenant()
    m = factory.member(t)
    with unit_of_work():
        credit(t.id, m.id, 1000, "in")
    with pytest.raises(InsufficientBalance) as caught, unit_of_work():
        ledger.post(tenant_id=t.id, key="out", kind="test", now=T0,
                    legs=[Leg(member(K.MEMBER_AVAILABLE, m.id), -1001, covered=True),
                          Leg(system(K.PAYOUT_TRANSIT), 1001)])
    assert caught.value.http_status == 409 and caught.value.code == "insufficient_balance"
    assert caught.value.details == {"account": K.MEMBER_AVAILABLE, "balance_fen": 1000, "needed_fen": 1001}
    assert ledger.find_posting(tenant_id=t.id, key="out") is None
    with unit_of_work():
        ledger.post(tenant_id=t.id, key="out", kind="test", now=T0,
                    legs=[Leg(member(K.MEMBER_AVAILABLE, m.id), -1000, covered=True),
                          Leg(system(K.PAYOUT_TRANSIT), 1000)])
        assert ledger.balances_of(tenant_id=t.id, owner_id=m.id)[K.MEMBER_AVAILABLE] == 0


def _stored(tenant_id: int, member_id: int, fen: int, key: str) -> None:
    ledger.post(tenant_id=tenant_id, key=key, kind="test", now=T0,
                legs=[Leg(system(K.WECHAT_CLEARING), -fen), Leg(member(K.MEMBER_STORED, member_id), fen)])


def _pay_from_stored(tenant_id: int, member_id: int, fen: int, key: str) -> ledger.PostingResult:
    return ledger.post(tenant_id=tenant_id, key=key, kind="test", now=T0,
                       legs=[Leg(member(K.MEMBER_STORED, member_id), -fen, covered=True),
                             Leg(system(K.MERCHANT), fen)])


@contextmanager
def _balance_statements():
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        if "ledger_balances" in statement:
            seen.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_a_stored_value_payment_is_checked_by_the_one_update_that_applies_it(factory):
    t = factory.tenant()
    m = factory.member(t)
    with unit_of_work():
        _stored(t.id, m.id, 1000, "in")
        _pay_from_stored(t.id, m.id, 1, "warm")  # the merchant's account exists
    with _balance_statements() as seen, unit_of_work():
        _pay_from_stored(t.id, m.id, 999, "all")
    assert seen == ["UPDATE"]  # no locking read of the shard before it
    with unit_of_work():
        assert ledger.balances_of(tenant_id=t.id, owner_id=m.id) == {K.MEMBER_STORED: 0}
        assert ledger.balances_of(tenant_id=t.id, owner_id=0)[K.MERCHANT] == 1000
    assert_ledger_balanced(t)


def test_a_stored_value_payment_beyond_the_balance_is_409_and_changes_no_balance(factory):
    t = factory.tenant()
    m = factory.member(t)
    with unit_of_work():
        _stored(t.id, m.id, 1000, "in")
        _pay_from_stored(t.id, m.id, 400, "first")
    with pytest.raises(InsufficientBalance) as caught, unit_of_work():
        _pay_from_stored(t.id, m.id, 601, "second")
    assert caught.value.details == {"account": K.MEMBER_STORED, "balance_fen": 600, "needed_fen": 601}
    assert ledger.find_posting(tenant_id=t.id, key="second") is None
    with unit_of_work():
        assert ledger.balances_of(tenant_id=t.id, owner_id=m.id) == {K.MEMBER_STORED: 600}
        assert ledger.balances_of(tenant_id=t.id, owner_id=0)[K.MERCHANT] == 400
        assert _pay_from_stored(t.id, m.id, 600, "second").created  # exactly the balance: taken
        assert ledger.balances_of(tenant_id=t.id, owner_id=m.id) == {K.MEMBER_STORED: 0}
    assert_ledger_balanced(t)


def test_an_uncovered_debit_may_take_a_member_below_zero(factory):
    t = factory.tenant()
    m = factory.member(t)
    with unit_of_work():
        ledger.post(tenant_id=t.id, key="reverse", kind="test", now=T0,
                    legs=[Leg(member(K.MEMBER_AVAILABLE, m.id), -700), Leg(system(K.MERCHANT), 700)])
        assert ledger.lock_balance(tenant_id=t.id, account=member(K.MEMBER_AVAILABLE, m.id)) == -700


def test_accounts_are_created_once_with_their_balance_shards(factory):
    t = factory.tenant()
    m = factory.member(t)
    for i in range(30):  # credits land on random shards
        with unit_of_work():
            credit(t.id, m.id, 10 + i, f"k{i}")
    accounts = db.session.scalars(select(LedgerAccount).where(LedgerAccount.tenant_id == t.id)).all()
    assert sorted((a.kind, a.owner_key, a.shards) for a in accounts) == [
        (K.MEMBER_AVAILABLE, m.id, SHARDS[K.MEMBER_AVAILABLE]), (K.MERCHANT, 0, SHARDS[K.MERCHANT])]
    assert count(LedgerBalance) == SHARDS[K.MEMBER_AVAILABLE] + SHARDS[K.MERCHANT]
    with unit_of_work():
        assert ledger.balances_of(tenant_id=t.id, owner_id=m.id)[K.MEMBER_AVAILABLE] == sum(10 + i for i in range(30))
    assert_ledger_balanced(t)


def test_the_check_finds_a_tampered_balance_and_the_fix_rebuilds_it_from_entries(factory):
    t = factory.tenant()
    m = factory.member(t)
    with unit_of_work():
        credit(t.id, m.id, 2500, "a")
        credit(t.id, m.id, 500, "b")
    account_id = db.session.scalar(select(LedgerAccount.id).where(LedgerAccount.kind == K.MEMBER_AVAILABLE))
    with unit_of_work():
        db.session.execute(update(LedgerBalance).where(LedgerBalance.account_id == account_id)
                           .values(balance_fen=LedgerBalance.balance_fen + 7))
    with unit_of_work():
        report = ledger.check_ledger(tenant_id=t.id)
    assert not report.ok
    assert [(d.account_id, d.balance_fen, d.entries_fen) for d in report.differences] == [
        (account_id, 3000 + 7 * SHARDS[K.MEMBER_AVAILABLE], 3000)]
    assert report.balances_total_fen == 7 * SHARDS[K.MEMBER_AVAILABLE] and report.entries_total_fen == 0
    with unit_of_work():
        assert ledger.fix_account_balance(tenant_id=t.id, account_id=account_id)
    with unit_of_work():
        assert not ledger.fix_account_balance(tenant_id=t.id, account_id=account_id)
    assert_ledger_balanced(t)


def test_the_check_reports_a_posting_whose_entries_do_not_sum_to_zero(factory):
    t = factory.tenant()
    m = factory.member(t)
    with unit_of_work():
        posted = credit(t.id, m.id, 100, "x")
    with unit_of_work():  # someone edits an entry by hand (entries are append-only)
        db.session.execute(update(Entry).where(Entry.posting_id == posted.posting_id, Entry.amount_fen > 0)
                           .values(amount_fen=101))
    with unit_of_work():
        report = ledger.check_ledger(tenant_id=t.id)
    assert report.unbalanced_postings == [posted.posting_id] and report.entries_total_fen == 1
    assert not report.ok


def test_flask_ledger_check_prints_each_tenant_and_fails_on_a_difference(app, factory):
    good, bad = factory.tenant(slug="goodbrand"), factory.tenant(slug="badbrand")
    mg, mb = factory.member(good), factory.member(bad)
    with unit_of_work():
        credit(good.id, mg.id, 100, "g")
        credit(bad.id, mb.id, 100, "b")
    with unit_of_work():
        db.session.execute(update(LedgerBalance).where(LedgerBalance.id.in_(
            select(LedgerBalance.id).join(LedgerAccount, LedgerAccount.id == LedgerBalance.account_id)
            .where(LedgerAccount.tenant_id == bad.id, LedgerAccount.kind == K.MERCHANT)))
            .values(balance_fen=0))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("goodbrand: ok accounts=2 postings=1 entries=2 sum=0 balances_sum=0")
    assert lines[1].startswith("badbrand: MISMATCH") and "diff=100" in lines[2]
    fixed = runner.invoke(args=["ledger", "check", "--tenant", "badbrand", "--fix", "--as-json"])
    assert fixed.exit_code == 0, fixed.output
    report = json.loads(fixed.output)
    assert (report["tenant"], report["ok"], report["fixed"]) == ("badbrand", True, 1)
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0


def test_accounts_are_read_once_per_process_and_only_once_their_creation_committed(app, factory):
    """Accounts never change once created, so postings stop reading them after a commit;
    one whose creating unit of work rolled back is not remembered (its id is gone)."""
    t = factory.tenant()
    m = factory.member(t)
    reads: list[str] = []

    def note(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT") and "ledger_accounts" in statement:
            reads.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        with pytest.raises(RuntimeError), unit_of_work():
            credit(t.id, m.id, 100, "rolled-back")
            raise RuntimeError("the unit of work fails after creating the accounts")
        created_then_lost = len(reads)
        with unit_of_work():
            credit(t.id, m.id, 100, "first")  # reads (and creates) again: nothing was kept
        assert len(reads) > created_then_lost
        before = len(reads)
        with unit_of_work():
            credit(t.id, m.id, 200, "second")
        assert len(reads) == before  # kept since the first committed
    finally:
        event.remove(engine, "before_cursor_execute", note)
    with unit_of_work():
        assert ledger.balances_of(tenant_id=t.id, owner_id=m.id) == {K.MEMBER_AVAILABLE: 300}
    assert_ledger_balanced(t)
