"""Suppliers' withdrawals (提现) to their bank cards, by the members' rules (the tenant's
minimum, fee, daily amount and count, review with automatic approval below a
threshold), paid by the tenant's manual batch transfer (批量打款 export).

    pending ──approve──▶ approved ──in a batch export──▶ paying ──confirmed paid──▶ paid
       └──reject──▶ rejected                                    └──confirmed failed──▶ failed
                    (rejected and failed return the amount and the fee)

Money: applying moves the amount out of the supplier's available balance at once (fee to
fee income, the rest to payout transit) under the balance's row locks, so no number of
simultaneous applications (or settlements landing meanwhile) overdraws it. A paid
transfer leaves transit through `offline_clearing` (money paid outside WeChat Pay).
The card number travels encrypted: the withdrawal keeps its own encrypted snapshot, the
views show it masked, and only the bank's batch file carries it whole.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.audit.service import record_audit
from backend.db import newest_first
from backend.extensions import db
from backend.finance import service as finance
from backend.finance.errors import (
    DuplicateRequest,
    InsufficientBalance,
    NegativeBalance,
    WithdrawalBelowMinimum,
    WithdrawalDailyLimit,
)
from backend.finance.rules import withdrawal_fee
from backend.ledger import service as ledger
from backend.ledger.service import Leg, supplier, system
from backend.ledger.types import AccountKind as K
from backend.money import yuan
from backend.suppliers import service as suppliers
from backend.suppliers.errors import (
    BankCardMissing,
    InvalidSupplierInput,
    SupplierNotActive,
    SupplierWithdrawalNotFound,
    SupplierWithdrawalStateConflict,
)
from backend.suppliers.models import SupplierWithdrawal
from backend.suppliers.types import SupplierStatus, SupplierWithdrawalStatus
from backend.types import china_day

RETURNED = (SupplierWithdrawalStatus.REJECTED, SupplierWithdrawalStatus.FAILED)
STATUS_TITLES = {"pending": "待审核", "approved": "已通过，待打款", "paying": "打款中", "paid": "已到账",
                 "failed": "打款失败，已退回", "rejected": "已驳回，已退回"}


def _locked(tenant_id: int, withdrawal_id: int, supplier_id: int | None = None) -> SupplierWithdrawal:
    stmt = select(SupplierWithdrawal).where(SupplierWithdrawal.tenant_id == tenant_id,
                                            SupplierWithdrawal.id == withdrawal_id)
    if supplier_id is not None:
        stmt = stmt.where(SupplierWithdrawal.supplier_id == supplier_id)
    w = db.session.scalar(stmt.with_for_update().execution_options(populate_existing=True))
    if w is None:
        raise SupplierWithdrawalNotFound()
    return w


def apply_withdrawal(*, tenant_id: int, supplier_id: int, amount_fen: int, now: datetime,
                     client_token: str | None = None) -> SupplierWithdrawal:
    """A supplier asks to withdraw `amount_fen` of its available income to its bank card.
    A repeated client_token returns the first application."""
    rules = finance.get_rules(tenant_id=tenant_id)
    if amount_fen < rules.withdraw_min_fen:
        raise WithdrawalBelowMinimum(details={"min_fen": rules.withdraw_min_fen})
    fee = withdrawal_fee(rules, amount_fen)
    net = amount_fen - fee
    if net <= 0:
        raise WithdrawalBelowMinimum("扣除手续费后金额为零", details={"fee_fen": fee})
    s = suppliers.get_supplier(tenant_id=tenant_id, supplier_id=supplier_id)
    if s.status != SupplierStatus.ACTIVE:
        raise SupplierNotActive(details={"status": s.status})
    if not s.bank_card_token:
        raise BankCardMissing()
    if client_token:
        again = db.session.scalar(select(SupplierWithdrawal).where(
            SupplierWithdrawal.tenant_id == tenant_id, SupplierWithdrawal.supplier_id == supplier_id,
            SupplierWithdrawal.client_token == client_token))
        if again is not None:
            return again
    # Under the supplier's available-balance locks from here: every application of this
    # supplier waits here, and the reads below are locking reads (latest committed rows).
    balance = ledger.lock_balance(tenant_id=tenant_id, account=supplier(K.SUPPLIER_AVAILABLE, supplier_id))
    if balance < 0:
        raise NegativeBalance(details={"available_fen": balance})
    if balance < amount_fen:
        raise InsufficientBalance(details={"available_fen": balance, "needed_fen": amount_fen})
    day = china_day(now)
    used_fen, used_count = db.session.execute(
        select(func.coalesce(func.sum(SupplierWithdrawal.amount_fen), 0), func.count())
        .where(SupplierWithdrawal.tenant_id == tenant_id, SupplierWithdrawal.supplier_id == supplier_id,
               SupplierWithdrawal.day == day, SupplierWithdrawal.status.not_in(RETURNED))
        .with_for_update(read=True)).one()
    limit = rules.withdraw_daily_limit_fen
    if limit is not None and int(used_fen) + amount_fen > limit:
        raise WithdrawalDailyLimit(details={"limit_fen": limit, "used_fen": int(used_fen)})
    if rules.withdraw_daily_count is not None and int(used_count) >= rules.withdraw_daily_count:
        raise WithdrawalDailyLimit("今日提现次数已用完", details={"count_limit": rules.withdraw_daily_count})
    w = SupplierWithdrawal(
        tenant_id=tenant_id, supplier_id=supplier_id, client_token=client_token, amount_fen=amount_fen, fee_fen=fee,
        net_fen=net, status=SupplierWithdrawalStatus.PENDING, day=day, payout_mode=suppliers.get_rules(tenant_id=tenant_id).payout_mode,
        bank_name=s.bank_name or "", bank_account_name=s.bank_account_name or "", bank_card_token=s.bank_card_token,
        bank_card_last4=s.bank_card_last4 or "", out_bill_no=f"SW{now:%Y%m%d}{secrets.token_hex(10)}",
        created_at=now, updated_at=now)
    db.session.add(w)
    try:
        db.session.flush()
    except IntegrityError as exc:
        if client_token and "client_token" in str(exc.orig):
            raise DuplicateRequest() from None
        raise
    legs = [Leg(supplier(K.SUPPLIER_AVAILABLE, supplier_id), -amount_fen, covered=True),
            Leg(system(K.PAYOUT_TRANSIT), net)]
    if fee:
        legs.append(Leg(system(K.FEE_INCOME), fee))
    w.hold_posting_id = ledger.post(
        tenant_id=tenant_id, key=f"supplier-withdraw:hold:{w.id}", kind="supplier_withdraw_hold", legs=legs, now=now,
        memo=f"供应商提现申请 {yuan(amount_fen)} 元" + (f"（手续费 {yuan(fee)} 元）" if fee else ""),
        withdrawal_id=w.id).posting_id
    if rules.auto_approve_below_fen and amount_fen < rules.auto_approve_below_fen:
        w.status, w.auto_approved, w.reviewed_by, w.reviewed_at = SupplierWithdrawalStatus.APPROVED, True, "system", now
    return w


def _return_money(tenant_id: int, w: SupplierWithdrawal, now: datetime, memo: str) -> None:
    legs = [Leg(system(K.PAYOUT_TRANSIT), -w.net_fen), Leg(supplier(K.SUPPLIER_AVAILABLE, w.supplier_id), w.amount_fen)]
    if w.fee_fen:
        legs.append(Leg(system(K.FEE_INCOME), -w.fee_fen))
    w.end_posting_id = ledger.post(tenant_id=tenant_id, key=f"supplier-withdraw:return:{w.id}",
                                   kind="supplier_withdraw_return", legs=legs, now=now, memo=memo,
                                   withdrawal_id=w.id, reverses_id=w.hold_posting_id).posting_id


def review_withdrawal(*, tenant_id: int, withdrawal_id: int, approve: bool, actor: str, now: datetime,
                      note: str = "") -> SupplierWithdrawal:
    """The operator approves a pending withdrawal (it goes into the next batch) or rejects
    it (the amount and fee return). Audited."""
    w = _locked(tenant_id, withdrawal_id)
    if w.status != SupplierWithdrawalStatus.PENDING:
        raise SupplierWithdrawalStateConflict(details={"status": w.status})
    if not approve and not note.strip():
        raise InvalidSupplierInput(details=[{"field": "note", "message": "驳回须写明原因"}])
    if approve:
        w.status = SupplierWithdrawalStatus.APPROVED
    else:
        _return_money(tenant_id, w, now, f"供应商提现被驳回，退回 {yuan(w.amount_fen)} 元：{note.strip()}")
        w.status = SupplierWithdrawalStatus.REJECTED
    w.reviewed_by, w.reviewed_at, w.review_note, w.updated_at = actor, now, note.strip()[:200] or None, now
    record_audit(tenant_id=tenant_id, actor=actor, action="suppliers.withdrawal_review", target_type="withdrawal",
                 target_id=w.id, before={"status": SupplierWithdrawalStatus.PENDING}, after={"status": w.status, "note": note})
    return w


# ------------------------------------------------------------------ manual batch transfers

BATCH_HEADER = ["付款单号", "收款户名", "收款账号", "开户行", "金额(元)", "用途"]


@dataclass(frozen=True)
class Batch:
    batch_no: str
    withdrawal_ids: list[int]
    total_fen: int
    lines: list[str]  # the bank's CSV, card numbers whole


def _csv_line(values: Sequence[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(values)
    return buf.getvalue()


def export_batch(*, tenant_id: int, actor: str, now: datetime, limit: int = 500) -> Batch:
    """Put every approved withdrawal (up to `limit`, oldest first) into one bank batch:
    they become `paying` with the batch number, and the CSV for the bank's bulk-transfer
    upload is returned (the only place a card number appears whole). Audited."""
    rows = list(db.session.scalars(
        select(SupplierWithdrawal).where(SupplierWithdrawal.tenant_id == tenant_id,
                                         SupplierWithdrawal.status == SupplierWithdrawalStatus.APPROVED)
        .order_by(SupplierWithdrawal.id).limit(limit).with_for_update()
        .execution_options(populate_existing=True)))
    batch_no = f"SB{now:%Y%m%d%H%M%S}{secrets.token_hex(3)}"
    lines = ["\ufeff" + _csv_line(BATCH_HEADER)]
    for w in rows:
        w.status, w.batch_no, w.updated_at = SupplierWithdrawalStatus.PAYING, batch_no, now
        lines.append(_csv_line([w.out_bill_no, w.bank_account_name, suppliers.card_number(w.bank_card_token),
                                w.bank_name, yuan(w.net_fen), "供应商货款提现"]))
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="suppliers.payout_batch", target_type="payout_batch",
                 target_id=batch_no, before=None,
                 after={"withdrawal_ids": [w.id for w in rows], "total_fen": sum(w.net_fen for w in rows)})
    return Batch(batch_no, [w.id for w in rows], sum(w.net_fen for w in rows), lines)


def confirm_batch(*, tenant_id: int, batch_no: str, paid_ids: Sequence[int], failed: dict[int, str], actor: str,
                  now: datetime) -> list[SupplierWithdrawal]:
    """The operator reports the bank's result of a batch: paid transfers leave transit
    through offline clearing, failed ones return the amount and fee. Each withdrawal
    moves once; naming one twice, or one outside the batch, is refused. Audited."""
    if set(paid_ids) & set(failed):
        raise InvalidSupplierInput(details=[{"field": "failed", "message": "同一笔不能既成功又失败"}])
    out = []
    for wid in sorted(set(paid_ids) | set(failed)):
        w = _locked(tenant_id, wid)
        if w.batch_no != batch_no:
            raise SupplierWithdrawalNotFound(details={"withdrawal_id": wid, "batch_no": batch_no})
        if w.status != SupplierWithdrawalStatus.PAYING:
            raise SupplierWithdrawalStateConflict(details={"withdrawal_id": wid, "status": w.status})
        if wid in failed:
            reason = failed[wid].strip()[:200] or "银行退票"
            _return_money(tenant_id, w, now, f"供应商提现打款失败，退回 {yuan(w.amount_fen)} 元：{reason}")
            w.status, w.fail_reason = SupplierWithdrawalStatus.FAILED, reason
        else:
            w.end_posting_id = ledger.post(
                tenant_id=tenant_id, key=f"supplier-withdraw:paid:{w.id}", kind="supplier_withdraw_paid", now=now,
                memo=f"供应商提现到账 {yuan(w.net_fen)} 元（银行卡尾号 {w.bank_card_last4}）", withdrawal_id=w.id,
                legs=[Leg(system(K.PAYOUT_TRANSIT), -w.net_fen), Leg(system(K.OFFLINE_CLEARING), w.net_fen)]).posting_id
            w.status, w.paid_at = SupplierWithdrawalStatus.PAID, now
        w.updated_at = now
        out.append(w)
    record_audit(tenant_id=tenant_id, actor=actor, action="suppliers.payout_confirm", target_type="payout_batch",
                 target_id=batch_no, before=None, after={"paid": sorted(paid_ids), "failed": failed})
    return out


# ------------------------------------------------------------------ reading


def list_withdrawals(*, tenant_id: int, supplier_id: int | None = None, status: str | None = None,
                     before_id: int | None = None, limit: int = 50) -> list[SupplierWithdrawal]:
    """Supplier withdrawals newest first (one supplier's, or in one status)."""
    return newest_first(SupplierWithdrawal, tenant_id=tenant_id, before_id=before_id, limit=limit,
                        where={SupplierWithdrawal.supplier_id: supplier_id, SupplierWithdrawal.status: status})


def batch_csv(batch: Batch) -> Iterator[str]:
    return iter(batch.lines)


def withdrawal_view(w: SupplierWithdrawal, *, admin: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": w.id, "supplier_id": w.supplier_id, "amount_fen": w.amount_fen, "fee_fen": w.fee_fen,
        "net_fen": w.net_fen, "status": w.status, "status_text": STATUS_TITLES.get(w.status, w.status),
        "bank_name": w.bank_name, "account_name": w.bank_account_name,
        "card_no": suppliers.mask_card(w.bank_card_last4), "created_at": w.created_at.isoformat(),
        "paid_at": w.paid_at.isoformat() if w.paid_at else None, "review_note": w.review_note,
        "fail_reason": w.fail_reason}
    if admin:
        out.update(out_bill_no=w.out_bill_no, batch_no=w.batch_no, payout_mode=w.payout_mode,
                   auto_approved=w.auto_approved, reviewed_by=w.reviewed_by, day=w.day.isoformat())
    return out
