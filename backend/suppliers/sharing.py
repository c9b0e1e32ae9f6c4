"""Profit sharing (分账) through WeChat Pay v3: a supplier's income on an order paid with
`profit_sharing` goes to the supplier's own merchant account at settlement, so the
platform never holds it ("平台不碰资金").

    settlement   request_split   supplier_frozen → sharing_transit         (money in transit)
                 submit_split    receivers added, the split requested (the rest unfrozen)
    SUCCESS      apply_result    sharing_transit → wechat_clearing         (left our merchant)
    CLOSED       apply_result    sharing_transit → supplier_available      (paid by balance instead)
    refused      submit_split    sharing_transit → supplier_available, remainder unfrozen
    refund       return_shares   wechat_clearing → merchant                (分账回退, before the refund)

Results come from the request's answer, the PROFITSHARING.* notifications and the
reconcile job's queries, in any order and any number of times: each share is changed
under its sharing order's row lock and each posting has its key, so every one of them
is applied exactly once. Network calls run between units of work (submit_split) or,
for returns, inside the refund's own unit (under the order's lock, like the refund).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from backend.audit.service import record_audit
from backend.db import run_in_unit_of_work
from backend.errors import Conflict
from backend.extensions import db
from backend.ledger import service as ledger
from backend.ledger.service import Leg, supplier, system
from backend.ledger.types import AccountKind as K
from backend.money import yuan
from backend.suppliers import service as suppliers
from backend.suppliers.models import SharingOrder, SharingReturn, SharingShare, Supplier, SupplierIncome
from backend.suppliers.types import IncomeStatus, SharingStatus
from backend.tenants.service import get_tenant_by_slug
from backend.wechat.errors import PayRequestRejected, WeChatError
from backend.wechat.gateway import parse_pay_notification
from backend.wechat.pay import SharingOrder as WxSharingOrder
from backend.wechat.service import gateway, pay_credentials

log = logging.getLogger(__name__)


class SharingReturnFailed(Conflict):
    code = "sharing_return_failed"
    message = "分账回退未成功，退款暂缓，稍后自动重试"


class SharingNotificationUnknown(Conflict):
    code = "sharing_unknown"
    message = "分账单不存在"


# ------------------------------------------------------------------ which orders


def wants_sharing(*, tenant_id: int, supplier_ids: Sequence[int]) -> bool:
    """Whether an order with these suppliers' lines is paid for profit sharing: the
    tenant enables it and at least one of them has its WeChat Pay receiver account."""
    if not supplier_ids or not suppliers.get_rules(tenant_id=tenant_id).profit_sharing:
        return False
    return db.session.scalar(select(Supplier.id).where(
        Supplier.tenant_id == tenant_id, Supplier.id.in_(sorted(set(supplier_ids))),
        Supplier.sharing_receiver.is_not(None)).limit(1)) is not None


# ------------------------------------------------------------------ the split


def request_split(*, tenant_id: int, order_id: int, order_no: str, transaction_id: str,
                  rows: Sequence[SupplierIncome], now: datetime) -> tuple[list[SupplierIncome], int | None]:
    """Put the due income of one order paid for profit sharing in transit as a split of
    its own (the rows are locked by the caller): returns the rows left to settle into
    the balance (suppliers without a receiver account; all of them once the order
    already has a split) and the new sharing order's id, to submit after commit."""
    existing = db.session.scalar(select(SharingOrder.id).where(SharingOrder.tenant_id == tenant_id,
                                                               SharingOrder.order_id == order_id))
    receivers = dict(db.session.execute(select(Supplier.id, Supplier.sharing_receiver).where(
        Supplier.tenant_id == tenant_id, Supplier.id.in_(sorted({r.supplier_id for r in rows})),
        Supplier.sharing_receiver.is_not(None))).all())
    split = [r for r in rows if r.status == IncomeStatus.FROZEN and r.supplier_id in receivers and r.income_fen > 0]
    if existing is not None or not split:
        return list(rows), None
    so = SharingOrder(tenant_id=tenant_id, order_id=order_id, transaction_id=transaction_id,
                      out_order_no=f"PS{order_no}"[:32], status=SharingStatus.REQUESTED, created_at=now, updated_at=now)
    db.session.add(so)
    db.session.flush()
    by_supplier: dict[int, list[SupplierIncome]] = {}
    for r in split:
        by_supplier.setdefault(r.supplier_id, []).append(r)
    for supplier_id, own in sorted(by_supplier.items()):
        amount = sum(r.income_fen for r in own)
        posting = ledger.post(
            tenant_id=tenant_id, key=f"sharing:request:{order_id}:{supplier_id}", kind="sharing_request", now=now,
            order_id=order_id, memo=f"订单 {order_id} 分账请求 {yuan(amount)} 元（供应商 {supplier_id}）",
            legs=[Leg(supplier(K.SUPPLIER_FROZEN, supplier_id), -amount), Leg(system(K.SHARING_TRANSIT), amount)])
        share = SharingShare(tenant_id=tenant_id, sharing_id=so.id, order_id=order_id, supplier_id=supplier_id,
                             account=str(receivers[supplier_id]), amount_fen=amount, result="PENDING",
                             request_posting_id=posting.posting_id)
        db.session.add(share)
        db.session.flush()
        for r in own:
            r.status, r.share_id = IncomeStatus.SHARING, share.id
    db.session.flush()
    return [r for r in rows if r not in split], so.id


def plan_unfreeze(*, tenant_id: int, order_id: int, order_no: str, transaction_id: str, now: datetime) -> int | None:
    """An order paid for profit sharing with nothing left to split (no supplier income
    still frozen or in transit, no split made): its frozen money is released at WeChat
    Pay with an unfreeze, once. Returns the sharing order id to send after commit, or None."""
    if db.session.scalar(select(SharingOrder.id).where(SharingOrder.tenant_id == tenant_id,
                                                       SharingOrder.order_id == order_id)) is not None:
        return None
    open_rows = db.session.scalar(select(SupplierIncome.id).where(
        SupplierIncome.tenant_id == tenant_id, SupplierIncome.order_id == order_id,
        SupplierIncome.status.in_((IncomeStatus.FROZEN, IncomeStatus.SHARING)), SupplierIncome.income_fen > 0).limit(1))
    if open_rows is not None:
        return None
    so = SharingOrder(tenant_id=tenant_id, order_id=order_id, transaction_id=transaction_id,
                      out_order_no=f"UF{order_no}"[:32], status=SharingStatus.UNFREEZING, created_at=now, updated_at=now)
    db.session.add(so)
    db.session.flush()
    return so.id


def send_unfreeze(*, tenant_id: int, sharing_id: int, now: datetime) -> str:
    """Ask WeChat Pay to release what is left of a payment (idempotent there); own units
    of work. Returns the status (unfreezing stays for the reconcile job on failure)."""
    so = run_in_unit_of_work(lambda: _locked_sharing(tenant_id, sharing_id=sharing_id))
    if so is None or so.status != SharingStatus.UNFREEZING:
        return so.status if so else "missing"
    transaction_id, out_order_no = so.transaction_id, so.out_order_no
    try:
        gateway().pay(pay_credentials(tenant_id=tenant_id)).unfreeze(transaction_id=transaction_id,
                                                                     out_order_no=out_order_no)
    except WeChatError as exc:
        error = f"{exc.code}: {exc.message}"
        return str(run_in_unit_of_work(lambda: _note_error(tenant_id, sharing_id, error, now)))

    def done() -> str:
        row = _locked_sharing(tenant_id, sharing_id=sharing_id)
        assert row is not None
        row.status, row.updated_at = SharingStatus.UNFROZEN, now
        return row.status

    return str(run_in_unit_of_work(done))


def _locked_sharing(tenant_id: int, *, sharing_id: int | None = None,
                    out_order_no: str | None = None) -> SharingOrder | None:
    stmt = select(SharingOrder).where(SharingOrder.tenant_id == tenant_id)
    stmt = (stmt.where(SharingOrder.id == sharing_id) if sharing_id is not None
            else stmt.where(SharingOrder.out_order_no == out_order_no))
    return db.session.scalar(stmt.with_for_update().execution_options(populate_existing=True))


def _shares(tenant_id: int, sharing_id: int) -> list[SharingShare]:
    return list(db.session.scalars(select(SharingShare).where(
        SharingShare.tenant_id == tenant_id, SharingShare.sharing_id == sharing_id).order_by(SharingShare.id)
        .with_for_update().execution_options(populate_existing=True)))


def _income_rows(tenant_id: int, share_id: int) -> list[SupplierIncome]:
    return list(db.session.scalars(select(SupplierIncome).where(
        SupplierIncome.tenant_id == tenant_id, SupplierIncome.share_id == share_id).order_by(SupplierIncome.id)
        .with_for_update().execution_options(populate_existing=True)))


def _end_share(tenant_id: int, so: SharingOrder, share: SharingShare, result: str, now: datetime) -> None:
    """A share's final result, once: SUCCESS leaves through WeChat clearing, CLOSED (or a
    refused split) goes to the supplier's balance. Its income rows are settled."""
    if result == "SUCCESS":
        legs = [Leg(system(K.SHARING_TRANSIT), -share.amount_fen), Leg(system(K.WECHAT_CLEARING), share.amount_fen)]
        kind, memo = "sharing_done", f"订单 {so.order_id} 分账成功 {yuan(share.amount_fen)} 元至商户号 {share.account}"
    else:
        legs = [Leg(system(K.SHARING_TRANSIT), -share.amount_fen),
                Leg(supplier(K.SUPPLIER_AVAILABLE, share.supplier_id), share.amount_fen)]
        kind, memo = "sharing_failed", f"订单 {so.order_id} 分账未成功，{yuan(share.amount_fen)} 元转入供应商可提现余额"
    posting = ledger.post(tenant_id=tenant_id, key=f"sharing:end:{share.id}", kind=kind, legs=legs, now=now,
                          order_id=so.order_id, memo=memo)
    share.result = "SUCCESS" if result == "SUCCESS" else "CLOSED"
    share.end_posting_id = posting.posting_id
    for r in _income_rows(tenant_id, share.id):
        if r.status == IncomeStatus.SHARING:
            r.status, r.ended_at, r.settle_posting_id = IncomeStatus.SETTLED, now, posting.posting_id


def apply_result(*, tenant_id: int, answer: WxSharingOrder, now: datetime) -> str:
    """Apply what WeChat Pay says of a split (an answer, a query, a notification): each
    pending share named with a final result ends once; a result naming an amount that is
    not ours changes nothing and is recorded. Returns the sharing order's status."""
    so = _locked_sharing(tenant_id, out_order_no=answer.out_order_no)
    if so is None:
        raise SharingNotificationUnknown()
    if answer.transaction_id and answer.transaction_id != so.transaction_id:
        _mismatch(tenant_id, so, {"transaction_id": so.transaction_id}, {"transaction_id": answer.transaction_id})
        return so.status
    shares = {s.account: s for s in _shares(tenant_id, so.id)}
    for rec in answer.receivers:
        share = shares.get(rec.account)
        if share is None or rec.amount_fen != share.amount_fen:
            _mismatch(tenant_id, so, {"account": rec.account, "amount_fen": share.amount_fen if share else None},
                      {"account": rec.account, "amount_fen": rec.amount_fen})
            continue
        if share.result == "PENDING" and rec.result in ("SUCCESS", "CLOSED"):
            _end_share(tenant_id, so, share, rec.result, now)
    so.wechat_order_id = answer.order_id or so.wechat_order_id
    if all(s.result != "PENDING" for s in shares.values()) and so.status == SharingStatus.REQUESTED:
        so.status = SharingStatus.FINISHED
    so.updated_at = now
    db.session.flush()
    return so.status


def _mismatch(tenant_id: int, so: SharingOrder, ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    record_audit(tenant_id=tenant_id, actor="wechatpay", action="suppliers.sharing_mismatch",
                 target_type="sharing_order", target_id=so.out_order_no, before=ours, after=theirs)


def _refused(tenant_id: int, sharing_id: int, reason: str, now: datetime) -> str:
    so = _locked_sharing(tenant_id, sharing_id=sharing_id)
    assert so is not None
    if so.status != SharingStatus.REQUESTED:
        return so.status
    for share in _shares(tenant_id, so.id):
        if share.result == "PENDING":
            _end_share(tenant_id, so, share, "CLOSED", now)
    so.status, so.last_error, so.updated_at = SharingStatus.FAILED, reason[:200], now
    return so.status


def _note_error(tenant_id: int, sharing_id: int, error: str, now: datetime) -> str:
    so = _locked_sharing(tenant_id, sharing_id=sharing_id)
    assert so is not None
    so.last_error, so.updated_at = error[:200], now
    return so.status


def submit_split(*, tenant_id: int, sharing_id: int, now: datetime) -> str:
    """Send a requested split to WeChat Pay (receivers added, the split with the rest
    unfrozen; idempotent at WeChat by out_order_no) and apply its answer. Runs its own
    units of work: call it after commit or from a job. Returns the sharing order's status."""

    def claim() -> tuple[str, str, list[tuple[str, int, str]], dict[str, str]] | str:
        so = _locked_sharing(tenant_id, sharing_id=sharing_id)
        if so is None or so.status != SharingStatus.REQUESTED:
            return so.status if so else "missing"
        so.attempts += 1
        so.updated_at = now
        shares = [s for s in _shares(tenant_id, so.id) if s.result == "PENDING"]
        names = {receiver: name for receiver, name in db.session.execute(
            select(Supplier.sharing_receiver, Supplier.company_name).where(
                Supplier.tenant_id == tenant_id, Supplier.id.in_([s.supplier_id for s in shares])))
            if receiver is not None}
        return (so.transaction_id, so.out_order_no,
                [(s.account, s.amount_fen, f"供应商货款（订单 {so.order_id}）") for s in shares], names)

    claimed = run_in_unit_of_work(claim)
    if isinstance(claimed, str):
        return claimed
    transaction_id, out_order_no, receivers, names = claimed
    try:
        pay = gateway().pay(pay_credentials(tenant_id=tenant_id))
        for account, _, _ in receivers:
            pay.sharing_add_receiver(account=account, name=names.get(account))
        answer = pay.sharing_order(transaction_id=transaction_id, out_order_no=out_order_no, receivers=receivers,
                                   unfreeze_unsplit=True)
    except PayRequestRejected as exc:
        reason = f"微信支付拒绝分账（{exc.wechat_code}）：{(exc.details or {}).get('wechat_message', '')}"
        status = run_in_unit_of_work(lambda: _refused(tenant_id, sharing_id, reason, now))
        try:  # the money stays frozen at WeChat Pay otherwise
            gateway().pay(pay_credentials(tenant_id=tenant_id)).unfreeze(transaction_id=transaction_id,
                                                                         out_order_no=f"{out_order_no}U"[:32])
        except WeChatError:
            log.warning("unfreezing %s after a refused split failed; it stays frozen at WeChat Pay", out_order_no)
        return str(status)
    except WeChatError as exc:  # unavailable, rate limited, unverifiable: the job retries
        error = f"{exc.code}: {exc.message}"
        return str(run_in_unit_of_work(lambda: _note_error(tenant_id, sharing_id, error, now)))
    return str(run_in_unit_of_work(lambda: apply_result(tenant_id=tenant_id, answer=answer, now=now)))


def reconcile(*, tenant_id: int, sharing_id: int, now: datetime) -> str:
    """Ask WeChat Pay for a split still waiting and apply it; a split WeChat never
    received is sent again, an unfreeze not yet done is sent again. Own units of work.
    Returns the status."""
    so = run_in_unit_of_work(lambda: _locked_sharing(tenant_id, sharing_id=sharing_id))
    if so is not None and so.status == SharingStatus.UNFREEZING:
        return send_unfreeze(tenant_id=tenant_id, sharing_id=sharing_id, now=now)
    if so is None or so.status != SharingStatus.REQUESTED:
        return so.status if so else "missing"
    transaction_id, out_order_no = so.transaction_id, so.out_order_no
    try:
        answer = gateway().pay(pay_credentials(tenant_id=tenant_id)).query_sharing(
            transaction_id=transaction_id, out_order_no=out_order_no)
    except WeChatError as exc:
        if exc.code == "pay_order_not_found":
            return submit_split(tenant_id=tenant_id, sharing_id=sharing_id, now=now)
        error = f"{exc.code}: {exc.message}"
        return str(run_in_unit_of_work(lambda: _note_error(tenant_id, sharing_id, error, now)))
    return str(run_in_unit_of_work(lambda: apply_result(tenant_id=tenant_id, answer=answer, now=now)))


def waiting(*, now: datetime, older_than: timedelta = timedelta(minutes=1), limit: int = 200) -> list[tuple[int, int]]:
    """(tenant id, sharing order id) of splits (or unfreezes) waiting longer than a minute."""
    return [(t, i) for t, i in db.session.execute(
        select(SharingOrder.tenant_id, SharingOrder.id).where(SharingOrder.status.in_((SharingStatus.REQUESTED, SharingStatus.UNFREEZING)),
                                                               SharingOrder.updated_at <= now - older_than)
        .order_by(SharingOrder.updated_at).limit(limit))]


def handle_notification(*, tenant_slug: str, headers: Any, body: bytes, now: datetime) -> str:
    """A PROFITSHARING.SUCCESS|CLOSED notification: verified (401 forged, tampered or
    stale), decrypted, applied once. Returns the sharing order's status."""
    tenant = get_tenant_by_slug(slug=tenant_slug)
    n = parse_pay_notification(pay_credentials(tenant_id=tenant.id), headers=headers, body=body, now=now)
    if n.kind != "sharing":
        raise SharingNotificationUnknown("通知类型与接收地址不符")
    return apply_result(tenant_id=tenant.id, answer=WxSharingOrder.from_notification(n.resource, n.event_type),
                        now=now)


# ------------------------------------------------------------------ returns before refunds


def return_shares(*, tenant_id: int, order_id: int, refund_no: str, order_line_ids: Sequence[int],
                  now: datetime) -> int:
    """Before a refund of these lines: the suppliers' shares already split to them come
    back (分账回退), once per (refund, supplier). Raises SharingReturnFailed when a
    split is still pending or WeChat Pay refuses the return: the refund waits.
    Returns how much came back (fen)."""
    rows = list(db.session.scalars(select(SupplierIncome).where(
        SupplierIncome.tenant_id == tenant_id, SupplierIncome.order_line_id.in_(sorted(order_line_ids)))
        .order_by(SupplierIncome.id).with_for_update().execution_options(populate_existing=True)))
    if any(r.status == IncomeStatus.SHARING for r in rows):
        raise SharingReturnFailed("分账结果未定，退款暂缓", details={"order_id": order_id})
    shares = {s.id: s for s in db.session.scalars(select(SharingShare).where(
        SharingShare.tenant_id == tenant_id, SharingShare.id.in_({r.share_id for r in rows if r.share_id})))}
    owed: dict[int, list[SupplierIncome]] = {}
    for r in rows:
        share = shares.get(r.share_id or 0)
        if r.status == IncomeStatus.SETTLED and share is not None and share.result == "SUCCESS" and r.return_posting_id is None:
            owed.setdefault(r.supplier_id, []).append(r)
    if not owed:
        return 0
    so = db.session.scalar(select(SharingOrder).where(SharingOrder.tenant_id == tenant_id,
                                                      SharingOrder.order_id == order_id))
    assert so is not None
    pay = gateway().pay(pay_credentials(tenant_id=tenant_id))
    total = 0
    for supplier_id, own in sorted(owed.items()):
        amount = sum(r.income_fen for r in own)
        account = next(s.account for s in shares.values() if s.supplier_id == supplier_id)
        out_return_no = f"R{refund_no[2:]}{supplier_id:x}"[:32]
        try:
            answer = pay.sharing_return(out_order_no=so.out_order_no, out_return_no=out_return_no,
                                        return_mchid=account, amount_fen=amount,
                                        description=f"订单 {order_id} 退款，供应商货款回退")
        except WeChatError as exc:
            raise SharingReturnFailed(details={"supplier_id": supplier_id, "wechat": exc.code}) from None
        if answer.result != "SUCCESS" or answer.amount_fen != amount:
            raise SharingReturnFailed(details={"supplier_id": supplier_id, "result": answer.result})
        posting = ledger.post(
            tenant_id=tenant_id, key=f"sharing:return:{out_return_no}", kind="sharing_return", now=now,
            order_id=order_id, memo=f"订单 {order_id} 退款前分账回退 {yuan(amount)} 元（商户号 {account}）",
            legs=[Leg(system(K.WECHAT_CLEARING), -amount), Leg(system(K.MERCHANT), amount)])
        db.session.add(SharingReturn(tenant_id=tenant_id, order_id=order_id, refund_no=refund_no,
                                     supplier_id=supplier_id, out_return_no=out_return_no, amount_fen=amount,
                                     result="SUCCESS", posting_id=posting.posting_id, created_at=now))
        for r in own:
            r.return_posting_id = posting.posting_id
        total += amount
    db.session.flush()
    return total


def sharing_view(*, tenant_id: int, order_id: int) -> dict[str, Any] | None:
    """An order's split and returns, for the operator."""
    so = db.session.scalar(select(SharingOrder).where(SharingOrder.tenant_id == tenant_id,
                                                      SharingOrder.order_id == order_id))
    if so is None:
        return None
    shares = db.session.scalars(select(SharingShare).where(SharingShare.tenant_id == tenant_id,
                                                           SharingShare.sharing_id == so.id).order_by(SharingShare.id))
    returns = db.session.scalars(select(SharingReturn).where(SharingReturn.tenant_id == tenant_id,
                                                             SharingReturn.order_id == order_id))
    return {"out_order_no": so.out_order_no, "status": so.status, "attempts": so.attempts,
            "last_error": so.last_error,
            "shares": [{"supplier_id": s.supplier_id, "account": s.account, "amount_fen": s.amount_fen,
                        "result": s.result} for s in shares],
            "returns": [{"supplier_id": r.supplier_id, "refund_no": r.refund_no, "amount_fen": r.amount_fen,
                         "result": r.result} for r in returns]}
