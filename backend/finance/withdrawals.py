"""Withdrawals (提现): apply, review, payout by WeChat Pay merchant transfer (商家转账).

Money: applying moves the amount out of the member's available balance at once (fee to
fee income, the rest to payout transit), under the balance's row locks, so no number
of simultaneous applications can overdraw it. The transfer's final state either pays
the transit out through WeChat clearing or returns everything; a rejection or a
member's cancellation returns it too.

    pending ──approve──▶ approved ──transfer created──▶ paying ──SUCCESS──▶ paid
       │                    │ (auto below the tenant's threshold)   └─FAIL/CANCELLED─▶ failed
       ├──reject──▶ rejected└─definitive WeChat refusal─────────────────────────────▶ failed
       └──member cancels──▶ cancelled          (rejected / failed / cancelled return the money)

Service functions never commit. `run_payout` is the exception by design: it calls
WeChat Pay between two units of work of its own (no row lock is held across the
network), so it runs after commit (approval) or from the reconcile job, never inside
a unit of work.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from backend.audit.service import record_audit
from backend.bulk import insert_ignore
from backend.db import after_commit, expire_loaded, newest_first, rowcount, run_in_unit_of_work, utcnow
from backend.extensions import db
from backend.finance.errors import (
    DuplicateRequest,
    InsufficientBalance,
    NegativeBalance,
    PayeeNameRequired,
    PayeeUnknown,
    UnknownBill,
    WithdrawalBelowMinimum,
    WithdrawalDailyLimit,
    WithdrawalNotFound,
    WithdrawalStateConflict,
)
from backend.finance.models import Withdrawal, WithdrawalDay
from backend.finance.rules import WECHAT_MIN_TRANSFER_FEN, withdrawal_fee
from backend.finance.service import _record_mismatch, alert, get_rules, pay_notify_base
from backend.finance.types import WITHDRAWAL_OPEN, WITHDRAWAL_RETURNED, WithdrawalStatus
from backend.ledger import service as ledger
from backend.ledger.service import Leg, member, system
from backend.ledger.types import AccountKind as K
from backend.members import service as members
from backend.tenants.service import get_tenant
from backend.types import china_day
from backend.wechat.errors import PayOrderNotFound, PayRequestRejected, WeChatError
from backend.wechat.service import gateway, pay_credentials

log = logging.getLogger(__name__)

TRANSFER_NAME_REQUIRED_FEN = 200_000  # WeChat wants the payee's real name from 2000 yuan
# WeChat refusals that mean the bill was not created and never will be with these data:
# the withdrawal fails and its money returns. Anything else is retried by the job.
DEFINITIVE_REFUSALS = {"PARAM_ERROR", "INVALID_REQUEST", "OPENID_MISMATCH", "NAME_MISMATCH", "NO_AUTH"}
STATUS_TITLES = {"pending": "待审核", "approved": "已通过，打款中", "paying": "待确认收款", "paid": "已到账",
                 "failed": "打款失败，已退回", "rejected": "已驳回，已退回", "cancelled": "已取消，已退回"}


def _locked(tenant_id: int, withdrawal_id: int) -> Withdrawal:
    w = db.session.scalar(select(Withdrawal).where(Withdrawal.tenant_id == tenant_id, Withdrawal.id == withdrawal_id)
                          .with_for_update().execution_options(populate_existing=True))
    if w is None:
        raise WithdrawalNotFound()
    return w


def _new_bill_no(now: datetime) -> str:
    # Random, not the row id: ids restart in restored or test databases; bill numbers
    # at WeChat are forever. Letters and digits only, at most 32.
    return f"WD{now:%Y%m%d}{secrets.token_hex(10)}"


def _day_tally(tenant_id: int, member_id: int, day: date) -> WithdrawalDay:
    """The member's tally of one day, created if need be, locked by its unique key."""
    stmt = (select(WithdrawalDay).where(WithdrawalDay.tenant_id == tenant_id, WithdrawalDay.member_id == member_id,
                                        WithdrawalDay.day == day)
            .with_for_update().execution_options(populate_existing=True))
    db.session.execute(insert_ignore(WithdrawalDay.__table__).values(
        tenant_id=tenant_id, member_id=member_id, day=day, amount_fen=0, count=0))
    tally = db.session.scalar(stmt)
    assert tally is not None
    return tally


def _untally(tenant_id: int, w: Withdrawal) -> None:
    """A returned withdrawal no longer counts against its day's limits."""
    db.session.execute(update(WithdrawalDay.__table__).where(
        WithdrawalDay.tenant_id == tenant_id, WithdrawalDay.member_id == w.member_id, WithdrawalDay.day == w.day)
        .values(amount_fen=WithdrawalDay.amount_fen - w.amount_fen, count=WithdrawalDay.count - 1))


def apply_withdrawal(*, tenant_id: int, member_id: int, amount_fen: int, now: datetime,
                     client_token: str | None = None, real_name: str | None = None) -> Withdrawal:
    """A member asks to withdraw `amount_fen` of the available balance to WeChat change.

    Checks the tenant's minimum, fee and daily limits, then takes the amount out of the
    balance under its row locks (409 insufficient_balance when it does not cover it or
    is negative). Below the auto-approval threshold the payout starts after commit.
    A repeated client_token returns the first application.
    """
    rules = get_rules(tenant_id=tenant_id)
    if amount_fen < rules.withdraw_min_fen:
        raise WithdrawalBelowMinimum(details={"min_fen": rules.withdraw_min_fen})
    fee = withdrawal_fee(rules, amount_fen)
    net = amount_fen - fee
    if net < WECHAT_MIN_TRANSFER_FEN:
        raise WithdrawalBelowMinimum("扣除手续费后不足 0.10 元", details={"fee_fen": fee})
    m = members.get_member(tenant_id=tenant_id, member_id=member_id)
    if not m.openid:
        raise PayeeUnknown()
    if net >= TRANSFER_NAME_REQUIRED_FEN and not real_name:
        raise PayeeNameRequired()
    if client_token:  # the app's retry of an application that went through
        again = db.session.scalar(select(Withdrawal).where(
            Withdrawal.tenant_id == tenant_id, Withdrawal.member_id == member_id,
            Withdrawal.client_token == client_token))
        if again is not None:
            return again
    # Everything below runs under the member's available-balance locks (every path that
    # changes this member's withdrawals takes them first), and reads only rows it
    # locks by unique key, so it sees every earlier application and locks no ranges.
    balance = ledger.lock_balance(tenant_id=tenant_id, account=member(K.MEMBER_AVAILABLE, member_id))
    if balance < 0:
        raise NegativeBalance(details={"available_fen": balance})
    if balance < amount_fen:
        raise InsufficientBalance(details={"available_fen": balance, "needed_fen": amount_fen})
    day = china_day(now)
    tally = _day_tally(tenant_id, member_id, day)
    limit = rules.withdraw_daily_limit_fen
    if limit is not None and tally.amount_fen + amount_fen > limit:
        raise WithdrawalDailyLimit(details={"limit_fen": limit, "used_fen": tally.amount_fen})
    if rules.withdraw_daily_count is not None and tally.count >= rules.withdraw_daily_count:
        raise WithdrawalDailyLimit("今日提现次数已用完", details={"count_limit": rules.withdraw_daily_count})
    tally.amount_fen += amount_fen
    tally.count += 1
    w = Withdrawal(tenant_id=tenant_id, member_id=member_id, client_token=client_token, amount_fen=amount_fen,
                   fee_fen=fee, net_fen=net, status=WithdrawalStatus.PENDING, day=day, openid=m.openid,
                   real_name=real_name or None, out_bill_no=_new_bill_no(now), created_at=now, updated_at=now)
    db.session.add(w)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same client_token, racing itself: the first one wins
        if client_token and "client_token" in str(exc.orig):
            raise DuplicateRequest() from None
        raise
    legs = [Leg(member(K.MEMBER_AVAILABLE, member_id), -amount_fen, covered=True),
            Leg(system(K.PAYOUT_TRANSIT), net)]
    if fee:
        legs.append(Leg(system(K.FEE_INCOME), fee))
    w.hold_posting_id = ledger.post(
        tenant_id=tenant_id, key=f"withdraw:hold:{w.id}", kind="withdraw_hold", legs=legs, now=now,
        memo=f"提现申请 {amount_fen / 100:.2f} 元" + (f"（手续费 {fee / 100:.2f} 元）" if fee else ""),
        member_id=member_id, withdrawal_id=w.id).posting_id
    if rules.auto_approve_below_fen and amount_fen < rules.auto_approve_below_fen:
        w.status, w.auto_approved, w.reviewed_by, w.reviewed_at = WithdrawalStatus.APPROVED, True, "system", now
        _payout_after_commit(tenant_id, w.id, now)
    return w


def _payout_after_commit(tenant_id: int, withdrawal_id: int, now: datetime) -> None:
    after_commit(lambda: _safe_payout(tenant_id, withdrawal_id, now))


def _safe_payout(tenant_id: int, withdrawal_id: int, now: datetime) -> None:
    try:
        run_payout(tenant_id=tenant_id, withdrawal_id=withdrawal_id, now=now)
    except Exception:  # the reconcile job retries; the approval itself stands
        log.exception("payout of withdrawal %s failed to start", withdrawal_id)


def _return_money(tenant_id: int, w: Withdrawal, now: datetime, memo: str) -> None:
    legs = [Leg(system(K.PAYOUT_TRANSIT), -w.net_fen), Leg(member(K.MEMBER_AVAILABLE, w.member_id), w.amount_fen)]
    if w.fee_fen:
        legs.append(Leg(system(K.FEE_INCOME), -w.fee_fen))
    w.end_posting_id = ledger.post(tenant_id=tenant_id, key=f"withdraw:return:{w.id}", kind="withdraw_return",
                                   legs=legs, now=now, memo=memo, member_id=w.member_id, withdrawal_id=w.id,
                                   reverses_id=w.hold_posting_id).posting_id
    _untally(tenant_id, w)  # after the balance, in the order apply_withdrawal locks them


def _tell_member(tenant_id: int, w: Withdrawal, now: datetime, reason: str | None = None) -> None:
    """The member's withdrawal result alert (paid, failed, rejected), once per outcome."""
    alert(tenant_id=tenant_id, member_id=w.member_id, kind="withdrawal", now=now, dedupe_key=f"{w.id}:{w.status}",
          data={"withdrawal_id": w.id, "status": w.status, "reason": reason,
                "amount_fen": w.net_fen if w.status == WithdrawalStatus.PAID else w.amount_fen})


def approve_withdrawal(*, tenant_id: int, withdrawal_id: int, actor: str, now: datetime,
                       note: str | None = None) -> Withdrawal:
    """An operator approves a pending withdrawal; the transfer starts after commit. Audited."""
    w = _locked(tenant_id, withdrawal_id)
    if w.status != WithdrawalStatus.PENDING:
        raise WithdrawalStateConflict(details={"status": w.status})
    w.status, w.reviewed_by, w.reviewed_at, w.review_note, w.updated_at = WithdrawalStatus.APPROVED, actor, now, note, now
    record_audit(tenant_id=tenant_id, actor=actor, action="finance.withdrawal.approve", target_type="withdrawal",
                 target_id=w.id, before={"status": WithdrawalStatus.PENDING}, after={"status": WithdrawalStatus.APPROVED, "note": note})
    _payout_after_commit(tenant_id, w.id, now)
    return w


def reject_withdrawal(*, tenant_id: int, withdrawal_id: int, actor: str, reason: str, now: datetime) -> Withdrawal:
    """An operator rejects a pending withdrawal: the amount and fee return. Audited."""
    w = _locked(tenant_id, withdrawal_id)
    if w.status != WithdrawalStatus.PENDING:
        raise WithdrawalStateConflict(details={"status": w.status})
    _return_money(tenant_id, w, now, f"提现被驳回，退回 {w.amount_fen / 100:.2f} 元：{reason}")
    w.status, w.reviewed_by, w.reviewed_at, w.review_note, w.updated_at = WithdrawalStatus.REJECTED, actor, now, reason, now
    _tell_member(tenant_id, w, now, reason)
    record_audit(tenant_id=tenant_id, actor=actor, action="finance.withdrawal.reject", target_type="withdrawal",
                 target_id=w.id, before={"status": WithdrawalStatus.PENDING}, after={"status": WithdrawalStatus.REJECTED, "reason": reason})
    return w


def cancel_withdrawal(*, tenant_id: int, member_id: int, withdrawal_id: int, now: datetime) -> Withdrawal:
    """The member withdraws a still pending application: the money returns."""
    w = _locked(tenant_id, withdrawal_id)
    if w.member_id != member_id:
        raise WithdrawalNotFound()
    if w.status != WithdrawalStatus.PENDING:
        raise WithdrawalStateConflict(details={"status": w.status})
    _return_money(tenant_id, w, now, f"取消提现，退回 {w.amount_fen / 100:.2f} 元")
    w.status, w.updated_at = WithdrawalStatus.CANCELLED, now
    return w


def on_transfer_bill(*, tenant_id: int, bill: Any, now: datetime) -> str:
    """Apply a merchant-transfer bill's state (the creation answer, a query, or a
    verified MCHTRANSFER.BILL.FINISHED) to its withdrawal, once.

    Returns "paid", "failed", "paying", "duplicate" (already final) or "mismatch" (the
    amount or payee differs from ours: nothing changes, recorded for the operator)."""
    w = db.session.scalar(select(Withdrawal).where(Withdrawal.tenant_id == tenant_id,
                                                   Withdrawal.out_bill_no == bill.out_bill_no)
                          .with_for_update().execution_options(populate_existing=True))
    if w is None:
        raise UnknownBill("转账单不存在")
    ours = {"amount_fen": w.net_fen, "openid": w.openid}
    theirs = {"amount_fen": bill.amount_fen, "openid": bill.openid or w.openid}
    if ours != theirs:
        _record_mismatch(tenant_id, what="transfer", ref=w.out_bill_no, ours=ours, theirs=theirs)
        return "mismatch"
    if w.status not in (WithdrawalStatus.APPROVED, WithdrawalStatus.PAYING):
        return "duplicate"
    if bill.state not in ("SUCCESS", "FAIL", "CANCELLED"):
        # Still waiting: a guarded UPDATE, so an answer read before a racing final
        # notification committed can never write "paying" over "paid" (SQLite has no row
        # locks, and the sandbox may confirm while the creation call is in flight).
        done = rowcount(db.session.execute(
            update(Withdrawal).where(Withdrawal.id == w.id, Withdrawal.status.in_((WithdrawalStatus.APPROVED, WithdrawalStatus.PAYING)))
            .values(status=WithdrawalStatus.PAYING, transfer_state=bill.state, updated_at=now,
                    transfer_bill_no=bill.transfer_bill_no or w.transfer_bill_no,
                    package_info=bill.package_info or w.package_info)
            .execution_options(synchronize_session=False)))
        expire_loaded(Withdrawal, [w.id])
        return "paying" if done else "duplicate"
    w.transfer_bill_no = bill.transfer_bill_no or w.transfer_bill_no
    w.transfer_state, w.updated_at = bill.state, now
    if bill.state == "SUCCESS":
        w.end_posting_id = ledger.post(
            tenant_id=tenant_id, key=f"withdraw:paid:{w.id}", kind="withdraw_paid", now=now,
            memo=f"提现到账 {w.net_fen / 100:.2f} 元（微信零钱）", member_id=w.member_id, withdrawal_id=w.id,
            legs=[Leg(system(K.PAYOUT_TRANSIT), -w.net_fen), Leg(system(K.WECHAT_CLEARING), w.net_fen)]).posting_id
        w.status, w.paid_at, w.package_info = WithdrawalStatus.PAID, now, None
        _tell_member(tenant_id, w, now)
        return "paid"
    if bill.state in ("FAIL", "CANCELLED"):
        reason = "收款人未在有效期内确认收款" if bill.state == "CANCELLED" else (bill.fail_reason or "转账失败")
        _return_money(tenant_id, w, now, f"提现未到账，退回 {w.amount_fen / 100:.2f} 元：{reason}")
        w.status, w.fail_reason, w.package_info = WithdrawalStatus.FAILED, reason, None
        _tell_member(tenant_id, w, now, reason)
        return "failed"
    raise AssertionError(f"unhandled transfer state {bill.state}")  # the states above are all


def _fail_refused(tenant_id: int, withdrawal_id: int, reason: str, now: datetime) -> str:
    w = _locked(tenant_id, withdrawal_id)
    if w.status != WithdrawalStatus.APPROVED:
        return w.status
    _return_money(tenant_id, w, now, f"提现未到账，退回 {w.amount_fen / 100:.2f} 元：{reason}")
    w.status, w.fail_reason, w.last_error, w.updated_at = WithdrawalStatus.FAILED, reason[:200], reason[:200], now
    _tell_member(tenant_id, w, now, reason[:60])
    return "failed"


def _note_error(tenant_id: int, withdrawal_id: int, error: str, now: datetime) -> str:
    w = _locked(tenant_id, withdrawal_id)
    w.last_error, w.updated_at = error[:200], now
    return w.status


def run_payout(*, tenant_id: int, withdrawal_id: int, now: datetime | None = None) -> str:
    """Create (or re-create: the bill number makes it idempotent at WeChat) the merchant
    transfer of an approved withdrawal and record the answer. Runs its own units of
    work; call it after commit or from a job. Returns the outcome: the status it left
    ("approved" when it will be retried, "paying", "paid", "failed") or "duplicate"."""

    def claim() -> tuple[str, str, int, str | None, str] | str:
        w = _locked(tenant_id, withdrawal_id)
        if w.status != WithdrawalStatus.APPROVED:
            return w.status
        w.payout_attempts += 1
        w.updated_at = at

        slug = get_tenant(tenant_id=tenant_id).slug
        return (w.out_bill_no, w.openid or "", w.net_fen, w.real_name, slug)

    at = now or utcnow()
    claimed = run_in_unit_of_work(claim)
    if isinstance(claimed, str):
        return claimed
    out_bill_no, openid, net_fen, real_name, slug = claimed
    try:
        creds = pay_credentials(tenant_id=tenant_id)
        bill = gateway().pay(creds).transfer(
            out_bill_no=out_bill_no, openid=openid, amount_fen=net_fen, remark="佣金提现",
            user_name=real_name, notify_url=creds.transfer_notify_url
            or f"{pay_notify_base(tenant_slug=slug)}/transfer-notify/{slug}")
    except PayRequestRejected as exc:
        code = str(exc.wechat_code or "")
        reason = f"微信支付拒绝转账（{code}）：{(exc.details or {}).get('wechat_message', '')}"
        if code in DEFINITIVE_REFUSALS:
            return run_in_unit_of_work(lambda: _fail_refused(tenant_id, withdrawal_id, reason, at))
        return run_in_unit_of_work(lambda: _note_error(tenant_id, withdrawal_id, reason, at))
    except WeChatError as exc:  # unavailable, rate limited, unverifiable answer: retried later
        error = f"{exc.code}: {exc.message}"
        return run_in_unit_of_work(lambda: _note_error(tenant_id, withdrawal_id, error, at))
    return run_in_unit_of_work(lambda: on_transfer_bill(tenant_id=tenant_id, bill=bill, now=at))


def _state(tenant_id: int, withdrawal_id: int) -> tuple[str, str]:
    w = _locked(tenant_id, withdrawal_id)
    return w.status, w.out_bill_no


def reconcile_payout(*, tenant_id: int, withdrawal_id: int, now: datetime) -> str:
    """Ask WeChat Pay for the state of a withdrawal in payment and apply it (own units of
    work, like run_payout). Returns the outcome."""
    status, out_bill_no = run_in_unit_of_work(lambda: _state(tenant_id, withdrawal_id))
    if status == WithdrawalStatus.APPROVED:
        return run_payout(tenant_id=tenant_id, withdrawal_id=withdrawal_id, now=now)
    if status != WithdrawalStatus.PAYING:
        return "duplicate"
    try:
        bill = gateway().pay(pay_credentials(tenant_id=tenant_id)).query_transfer(out_bill_no=out_bill_no)
    except PayOrderNotFound:
        return run_in_unit_of_work(lambda: _note_error(tenant_id, withdrawal_id, "转账单在微信支付查不到", now))
    except WeChatError as exc:
        error = f"{exc.code}: {exc.message}"
        return run_in_unit_of_work(lambda: _note_error(tenant_id, withdrawal_id, error, now))
    return run_in_unit_of_work(lambda: on_transfer_bill(tenant_id=tenant_id, bill=bill, now=now))


def stuck_withdrawals(*, now: datetime, approved_for: timedelta = timedelta(minutes=2),
                      paying_for: timedelta = timedelta(hours=1), limit: int = 200) -> list[tuple[int, int]]:
    """(tenant id, withdrawal id) of approved withdrawals whose transfer has not started
    and of transfers waiting for a final state for too long, oldest first."""
    rows = db.session.execute(
        select(Withdrawal.tenant_id, Withdrawal.id, Withdrawal.status, Withdrawal.updated_at)
        .where(Withdrawal.status.in_((WithdrawalStatus.APPROVED, WithdrawalStatus.PAYING)), Withdrawal.updated_at <= now - approved_for)
        .order_by(Withdrawal.updated_at).limit(limit * 2))
    out = []
    for tenant_id, wid, status, updated_at in rows:
        if status == WithdrawalStatus.APPROVED or updated_at <= now - paying_for:
            out.append((tenant_id, wid))
    return out[:limit]


# ------------------------------------------------------------------ reading


def get_withdrawal(*, tenant_id: int, withdrawal_id: int, member_id: int | None = None) -> Withdrawal:
    """One withdrawal of the tenant (and of the member, when given)."""
    w = db.session.get(Withdrawal, withdrawal_id)
    if w is None or w.tenant_id != tenant_id or (member_id is not None and w.member_id != member_id):
        raise WithdrawalNotFound()
    return w


def list_withdrawals(*, tenant_id: int, member_id: int | None = None, status: str | None = None,
                     before_id: int | None = None, limit: int = 50) -> list[Withdrawal]:
    """Withdrawals newest first, optionally of one member or in one status; keyset-paged."""
    return newest_first(Withdrawal, tenant_id=tenant_id, before_id=before_id, limit=limit,
                        where={Withdrawal.member_id: member_id, Withdrawal.status: status})


def withdrawal_totals(*, tenant_id: int, member_id: int, now: datetime) -> dict[str, int]:
    """A member's withdrawals in numbers: open (being processed), paid in total, and
    today's (China day) amount and count that count against the daily limits."""
    day = china_day(now)
    rows = db.session.execute(
        select(Withdrawal.status, Withdrawal.day == day, func.sum(Withdrawal.amount_fen),
               func.sum(Withdrawal.net_fen), func.count())
        .where(Withdrawal.tenant_id == tenant_id, Withdrawal.member_id == member_id)
        .group_by(Withdrawal.status, Withdrawal.day == day))
    out = {"open_fen": 0, "paid_net_fen": 0, "today_fen": 0, "today_count": 0}
    for status, today, amount, net, n in rows:
        if status in WITHDRAWAL_OPEN:
            out["open_fen"] += int(amount or 0)
        if status == WithdrawalStatus.PAID:
            out["paid_net_fen"] += int(net or 0)
        if today and status not in WITHDRAWAL_RETURNED:
            out["today_fen"] += int(amount or 0)
            out["today_count"] += int(n)
    return out


def withdrawal_view(w: Withdrawal, *, admin: bool = False) -> dict[str, Any]:
    """A withdrawal as the API shows it; while paying, `package_info` is what the
    mini-program passes to wx.requestMerchantTransfer."""
    out: dict[str, Any] = {
        "id": w.id, "amount_fen": w.amount_fen, "fee_fen": w.fee_fen, "net_fen": w.net_fen, "status": w.status,
        "status_text": STATUS_TITLES.get(w.status, w.status), "channel": w.channel,
        "created_at": w.created_at.isoformat(), "reviewed_at": w.reviewed_at.isoformat() if w.reviewed_at else None,
        "paid_at": w.paid_at.isoformat() if w.paid_at else None, "review_note": w.review_note,
        "fail_reason": w.fail_reason, "package_info": w.package_info if w.status == WithdrawalStatus.PAYING else None}
    if admin:
        out.update(member_id=w.member_id, out_bill_no=w.out_bill_no, transfer_bill_no=w.transfer_bill_no,
                   transfer_state=w.transfer_state, auto_approved=w.auto_approved, reviewed_by=w.reviewed_by,
                   payout_attempts=w.payout_attempts, last_error=w.last_error, day=w.day.isoformat())
    return out


def member_withdrawal(*, tenant_id: int, member_id: int, withdrawal_id: int) -> dict[str, Any]:
    """One of the member's withdrawals as the mini-program shows it; while it waits for
    the member's confirmation, `confirm` holds what wx.requestMerchantTransfer takes."""
    w = get_withdrawal(tenant_id=tenant_id, withdrawal_id=withdrawal_id, member_id=member_id)
    out = withdrawal_view(w)
    out["confirm"] = None
    if w.status == WithdrawalStatus.PAYING and w.package_info:
        creds = pay_credentials(tenant_id=tenant_id)
        out["confirm"] = {"mchId": creds.mchid, "appId": creds.appid, "package": w.package_info}
    return out
