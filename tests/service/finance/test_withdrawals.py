"""Withdrawals on the real database and the WeChat sandbox: limits, fees, review, the
merchant transfer and its outcomes, money returned on every way it can fail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.db import unit_of_work
from backend.extensions import db
from backend.finance import jobs
from backend.finance import withdrawals as wd
from backend.finance.errors import (
    InsufficientBalance,
    PayeeNameRequired,
    PayeeUnknown,
    WithdrawalBelowMinimum,
    WithdrawalDailyLimit,
    WithdrawalStateConflict,
)
from backend.finance.models import Withdrawal
from backend.ledger.models import AccountKind as K
from backend.ledger.service import balances_of
from backend.wechat.sandbox import flask_client_sender
from tests.finance_factories import T0, assert_ledger_balanced, balances, give_available, rules


def apply(t, m, amount, **kw):
    with unit_of_work():
        w = wd.apply_withdrawal(tenant_id=t.id, member_id=m.id, amount_fen=amount, now=kw.pop("now", T0), **kw)
    return w.id


def approve(t, wid):
    with unit_of_work():  # the transfer starts once this commits
        wd.approve_withdrawal(tenant_id=t.id, withdrawal_id=wid, actor="staff:1", now=T0)
    return get(wid)


def get(wid) -> Withdrawal:
    db.session.expire_all()
    return db.session.get(Withdrawal, wid)


def house(t) -> dict[str, int]:
    with unit_of_work():
        return balances_of(tenant_id=t.id, owner_id=0)


def funded(factory, amount=10_000, **settings):
    t = factory.tenant()
    if settings:
        rules(t, **settings)
    m = factory.member(t)
    give_available(t, m, amount)
    return t, m


def test_applying_takes_amount_and_fee_out_of_the_balance_at_once(factory):
    t, m = funded(factory, withdraw_fee_rate="1%", withdraw_fee_min_fen=50)
    w = get(apply(t, m, 3000))
    assert (w.amount_fen, w.fee_fen, w.net_fen, w.status) == (3000, 50, 2950, "pending")
    assert balances(t, m)["available"] == 7000
    assert house(t) == {K.MERCHANT: -10_000, K.PAYOUT_TRANSIT: 2950, K.FEE_INCOME: 50}
    assert w.out_bill_no.startswith("WD20261102") and w.out_bill_no.isalnum() and len(w.out_bill_no) <= 32
    assert_ledger_balanced(t)


def test_below_the_minimum_is_refused_with_the_minimum(factory):
    t, m = funded(factory, withdraw_min_fen=1000)
    with pytest.raises(WithdrawalBelowMinimum) as caught, unit_of_work():
        wd.apply_withdrawal(tenant_id=t.id, member_id=m.id, amount_fen=999, now=T0)
    assert caught.value.details == {"min_fen": 1000} and caught.value.http_status == 400
    assert balances(t, m)["available"] == 10_000


def test_more_than_available_is_409_with_what_is_available(factory):
    t, m = funded(factory, 2000)
    with pytest.raises(InsufficientBalance) as caught, unit_of_work():
        wd.apply_withdrawal(tenant_id=t.id, member_id=m.id, amount_fen=2001, now=T0)
    assert caught.value.http_status == 409 and caught.value.code == "insufficient_balance"
    assert caught.value.details == {"available_fen": 2000, "needed_fen": 2001}
    assert db.session.scalar(select(Withdrawal.id)) is None


def test_a_member_who_never_earned_cannot_withdraw(factory):
    t = factory.tenant()
    m = factory.member(t)
    with pytest.raises(InsufficientBalance), unit_of_work():
        wd.apply_withdrawal(tenant_id=t.id, member_id=m.id, amount_fen=100, now=T0)


def test_daily_amount_and_count_limits_reset_on_the_next_china_day(factory):
    t, m = funded(factory, withdraw_daily_limit_fen=3000, withdraw_daily_count=2)
    first = apply(t, m, 2000)
    with pytest.raises(WithdrawalDailyLimit) as caught, unit_of_work():
        wd.apply_withdrawal(tenant_id=t.id, member_id=m.id, amount_fen=1001, now=T0)
    assert caught.value.details == {"limit_fen": 3000, "used_fen": 2000}
    apply(t, m, 1000)
    with pytest.raises(WithdrawalDailyLimit), unit_of_work():  # the limit is reached
        wd.apply_withdrawal(tenant_id=t.id, member_id=m.id, amount_fen=100, now=T0)
    with unit_of_work():  # a rejected withdrawal no longer counts
        wd.reject_withdrawal(tenant_id=t.id, withdrawal_id=first, actor="staff:1", reason="资料不全", now=T0)
    apply(t, m, 1500)
    with pytest.raises(WithdrawalDailyLimit) as caught, unit_of_work():
        wd.apply_withdrawal(tenant_id=t.id, member_id=m.id, amount_fen=100, now=T0)
    assert caught.value.message == "今日提现次数已用完"
    midnight_china = T0.replace(hour=16, minute=0)  # 00:00 the next day in China
    apply(t, m, 2000, now=midnight_china)


def test_the_same_client_token_returns_the_first_application(factory):
    t, m = funded(factory)
    first = apply(t, m, 1000, client_token="tap-123456")
    again = apply(t, m, 1000, client_token="tap-123456")
    assert first == again and balances(t, m)["available"] == 9000


def test_a_member_without_a_mini_program_openid_cannot_withdraw(factory):
    from backend.members.service import upsert_oa_follower

    t = factory.tenant()
    with unit_of_work():
        m = upsert_oa_follower(tenant_id=t.id, oa_openid="oa-only", unionid=None, now=T0)
    give_available(t, m, 5000)
    with pytest.raises(PayeeUnknown), unit_of_work():
        wd.apply_withdrawal(tenant_id=t.id, member_id=m.id, amount_fen=1000, now=T0)


def test_two_thousand_yuan_and_more_needs_the_payees_real_name(factory):
    t, m = funded(factory, 300_000)
    with pytest.raises(PayeeNameRequired), unit_of_work():
        wd.apply_withdrawal(tenant_id=t.id, member_id=m.id, amount_fen=200_000, now=T0)
    wid = apply(t, m, 200_000, real_name="张三")
    assert get(wid).real_name == "张三"


def test_approval_creates_the_transfer_and_the_payees_confirmation_pays_it(app, factory, sandbox):
    t, m = funded(factory)
    w = approve(t, apply(t, m, 2500))
    assert (w.status, w.transfer_state, w.payout_attempts) == ("paying", "WAIT_USER_CONFIRM", 1)
    bill = sandbox.transfers[(t.pay_mchid, w.out_bill_no)]
    assert (bill.amount_fen, bill.openid, bill.remark) == (2500, m.openid, "佣金提现")
    assert bill.notify_url.endswith(f"/api/v1/pay/transfer-notify/{t.slug}")
    assert w.package_info == bill.package_info
    n = sandbox.confirm_transfer(w.out_bill_no, mchid=t.pay_mchid)
    [d] = sandbox.deliver(n, send=flask_client_sender(app.test_client()))
    assert d.result.status_code == 204
    w = get(w.id)
    assert (w.status, w.transfer_state, w.package_info) == ("paid", "SUCCESS", None)
    assert house(t) == {K.MERCHANT: -10_000, K.PAYOUT_TRANSIT: 0, K.WECHAT_CLEARING: 2500}
    deliveries = sandbox.deliver(n, times=3, send=flask_client_sender(app.test_client()))
    assert [x.result.status_code for x in deliveries] == [204, 204, 204]
    assert house(t)[K.WECHAT_CLEARING] == 2500
    assert_ledger_balanced(t)


@pytest.mark.parametrize("outcome, reason", [
    ("fail_transfer", "PAYEE_ACCOUNT_ABNORMAL"), ("expire_transfer", "收款人未在有效期内确认收款")])
def test_a_failed_or_unconfirmed_transfer_returns_amount_and_fee(app, factory, sandbox, outcome, reason):
    t, m = funded(factory, withdraw_fee_min_fen=100, withdraw_min_fen=200)
    w = approve(t, apply(t, m, 4000))
    n = getattr(sandbox, outcome)(w.out_bill_no, mchid=t.pay_mchid)
    sandbox.deliver(n, send=flask_client_sender(app.test_client()))
    w = get(w.id)
    assert (w.status, w.fail_reason) == ("failed", reason)
    assert balances(t, m)["available"] == 10_000
    assert house(t) == {K.MERCHANT: -10_000, K.PAYOUT_TRANSIT: 0, K.FEE_INCOME: 0}
    assert_ledger_balanced(t)


def test_rejection_returns_the_money_is_audited_and_is_final(factory):
    t, m = funded(factory)
    wid = apply(t, m, 3000)
    with unit_of_work():
        wd.reject_withdrawal(tenant_id=t.id, withdrawal_id=wid, actor="staff:9", reason="疑似刷单", now=T0)
    assert (get(wid).status, get(wid).review_note) == ("rejected", "疑似刷单")
    assert balances(t, m)["available"] == 10_000
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "finance.withdrawal.reject"))
    assert (audit.actor, audit.target_id, audit.after["reason"]) == ("staff:9", str(wid), "疑似刷单")
    with pytest.raises(WithdrawalStateConflict), unit_of_work():
        wd.approve_withdrawal(tenant_id=t.id, withdrawal_id=wid, actor="staff:9", now=T0)
    assert_ledger_balanced(t)


def test_a_member_cancels_a_pending_withdrawal_but_not_someone_elses(factory):
    from backend.finance.errors import WithdrawalNotFound

    t, m = funded(factory)
    other = factory.member(t)
    wid = apply(t, m, 3000)
    with pytest.raises(WithdrawalNotFound), unit_of_work():
        wd.cancel_withdrawal(tenant_id=t.id, member_id=other.id, withdrawal_id=wid, now=T0)
    with unit_of_work():
        wd.cancel_withdrawal(tenant_id=t.id, member_id=m.id, withdrawal_id=wid, now=T0)
    assert get(wid).status == "cancelled" and balances(t, m)["available"] == 10_000


def test_below_the_auto_approval_threshold_the_transfer_starts_without_review(factory, sandbox):
    t, m = funded(factory, auto_approve_below_fen=5000)
    small, large = apply(t, m, 4999), apply(t, m, 5000)
    assert (get(small).status, get(small).auto_approved, get(small).reviewed_by) == ("paying", True, "system")
    assert (t.pay_mchid, get(small).out_bill_no) in sandbox.transfers
    assert get(large).status == "pending"


def test_a_definitive_refusal_by_wechat_pay_fails_the_withdrawal_and_returns_the_money(factory, sandbox):
    from backend.members.models import Member

    t, m = funded(factory)
    with unit_of_work():  # an openid WeChat knows under another app: PARAM_ERROR
        db.session.get(Member, m.id).openid = sandbox.openid_for("wx0000000000000000", "stranger")
    w = approve(t, apply(t, m, 2000))
    assert w.status == "failed" and "PARAM_ERROR" in w.fail_reason
    assert balances(t, m)["available"] == 10_000
    assert_ledger_balanced(t)


def test_an_empty_merchant_account_keeps_it_approved_and_the_job_retries(factory, sandbox):
    t, m = funded(factory)
    sandbox.set_balance(t.pay_mchid, 100)
    try:
        w = approve(t, apply(t, m, 2000))
        assert (w.status, w.payout_attempts) == ("approved", 1) and "NOT_ENOUGH" in w.last_error
        assert balances(t, m)["available"] == 8000
        assert jobs.reconcile_withdrawals(now=T0) == 0  # too recent to retry
        sandbox.set_balance(t.pay_mchid, 10**10)
        assert jobs.reconcile_withdrawals(now=T0 + timedelta(minutes=5)) == 1
    finally:
        sandbox.set_balance(t.pay_mchid, 10**10)
    w = get(w.id)
    assert (w.status, w.payout_attempts) == ("paying", 2)


def test_the_job_asks_wechat_about_a_transfer_whose_notification_never_came(factory, sandbox):
    t, m = funded(factory)
    w = approve(t, apply(t, m, 2000))
    sandbox.confirm_transfer(w.out_bill_no, mchid=t.pay_mchid)  # the notification is lost
    assert jobs.reconcile_withdrawals(now=T0 + timedelta(minutes=30)) == 0
    assert jobs.reconcile_withdrawals(now=T0 + timedelta(hours=2)) == 1
    assert get(w.id).status == "paid"
    assert_ledger_balanced(t)


def test_a_transfer_notification_that_does_not_match_is_recorded_and_changes_nothing(factory, sandbox):
    from backend.wechat.pay import TransferBill

    t, m = funded(factory)
    w = approve(t, apply(t, m, 2000))
    forged = TransferBill(out_bill_no=w.out_bill_no, transfer_bill_no="x", state="SUCCESS", amount_fen=20_000,
                          openid=m.openid, fail_reason=None, package_info=None, create_time=None,
                          update_time=None)
    with unit_of_work():
        assert wd.on_transfer_bill(tenant_id=t.id, bill=forged, now=T0) == "mismatch"
    assert get(w.id).status == "paying"
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "finance.transfer_mismatch"))
    assert (audit.before["amount_fen"], audit.after["amount_fen"]) == (2000, 20_000)


def test_the_member_is_told_the_result_of_each_withdrawal_once(app, factory, sandbox):
    from backend.notifications.models import OutboxMessage

    t, m = funded(factory)
    paid = approve(t, apply(t, m, 2000))
    n = sandbox.confirm_transfer(paid.out_bill_no, mchid=t.pay_mchid)
    sandbox.deliver(n, times=2, send=flask_client_sender(app.test_client()))
    rejected = apply(t, m, 1000)
    with unit_of_work():
        wd.reject_withdrawal(tenant_id=t.id, withdrawal_id=rejected, actor="staff:1", reason="资料不全", now=T0)
    alerts = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "withdrawal")
                                .order_by(OutboxMessage.id)).all()
    assert [(a.member_id, a.payload["status"], a.payload["amount_fen"], a.payload["reason"]) for a in alerts] == [
        (m.id, "paid", 2000, None), (m.id, "rejected", 1000, "资料不全")]
