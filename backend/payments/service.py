"""WeChat Pay for orders: prepay, payment and refund notifications, closing unpaid
payments, submitting refunds, and the issues kept for the operator.

Exactly once: every notification is verified (signature, then age), decrypted, and
matched against its order (amount, merchant, app) under the order's row lock; the
order's own state decides whether anything happens, so a repeat — however many at
once — answers success and changes nothing. Keyword-only functions that never
commit; outbound calls to WeChat Pay are idempotent by their out_trade_no /
out_refund_no, so a retried unit of work may repeat them safely.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.audit.service import record_audit
from backend.db import after_commit, read_committed, run_in_unit_of_work, utcnow
from backend.events import announce
from backend.extensions import db
from backend.finance.withdrawals import on_transfer_bill
from backend.members import service as members
from backend.money import yuan
from backend.orders import service as orders
from backend.orders.errors import OrderNotFound, OrderStateConflict, RefundNotFound
from backend.orders.service import PayableOrder
from backend.orders.types import OrderInfo, OrderStatus, RefundInfo, RefundStatus
from backend.payments.errors import MemberHasNoOpenid, PaymentIssueNotFound
from backend.payments.models import PaymentIssue
from backend.payments.types import SandboxPaymentStatus
from backend.wechat.credentials import PayCredentials
from backend.wechat.errors import (
    NotificationBadSignature,
    NotificationMalformed,
    PayOrderNotFound,
    PayRequestRejected,
    SandboxOnly,
    WeChatError,
)
from backend.wechat.gateway import Transaction, parse_pay_notification
from backend.wechat.pay import Refund as WxRefund
from backend.wechat.service import cached_pay_credentials, gateway, pay_credentials, pay_credentials_by_slug
from backend.wechat.types import WxRefundStatus

log = logging.getLogger(__name__)

REFUND_RETRY_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class NotifyOutcome:
    """What a notification did; `accepted` means answer WeChat Pay with success."""

    accepted: bool
    result: str  # paid | duplicate | refunded | refund_failed | ignored | refused | transfer | recorded
    http_status: int = 204
    code: str | None = None
    message: str = ""
    order_id: int | None = None


def _accepted(result: str, order_id: int | None = None) -> NotifyOutcome:
    return NotifyOutcome(accepted=True, result=result, order_id=order_id)


def _refused(code: str, message: str, *, http_status: int = 400, order_id: int | None = None) -> NotifyOutcome:
    return NotifyOutcome(accepted=False, result="refused", http_status=http_status, code=code, message=message,
                         order_id=order_id)


# ------------------------------------------------------------------ issues


def _record_issue(*, tenant_id: int, kind: str, dedupe_key: str, order: OrderInfo | PayableOrder | None = None,
                  refund: RefundInfo | None = None, out_trade_no: str | None = None,
                  expected_fen: int | None = None, reported_fen: int | None = None,
                  details: Mapping[str, Any] | None = None) -> PaymentIssue:
    """One issue per (source, kind): a repeated delivery only counts up."""
    stmt = select(PaymentIssue).where(PaymentIssue.tenant_id == tenant_id, PaymentIssue.dedupe_key == dedupe_key,
                                      PaymentIssue.kind == kind)
    issue = db.session.scalar(stmt.with_for_update())
    if issue is not None:
        issue.deliveries += 1
        return issue
    issue = PaymentIssue(tenant_id=tenant_id, kind=kind, dedupe_key=dedupe_key[:64],
                         order_id=order.id if order else None, refund_id=refund.id if refund else None,
                         out_trade_no=out_trade_no or (order.order_no if order else None),
                         expected_fen=expected_fen, reported_fen=reported_fen,
                         details=dict(details) if details else None)
    try:
        with db.session.begin_nested():
            db.session.add(issue)
    except IntegrityError:  # recorded by a concurrent delivery (no order row to serialize on)
        existing = db.session.scalar(stmt.with_for_update())
        assert existing is not None
        existing.deliveries += 1
        return existing
    return issue


def list_issues(*, tenant_id: int, open_only: bool = True, before_id: int | None = None,
                limit: int = 50) -> list[PaymentIssue]:
    """Payment issues newest first (only unresolved ones by default)."""
    stmt = select(PaymentIssue).where(PaymentIssue.tenant_id == tenant_id)
    if open_only:
        stmt = stmt.where(PaymentIssue.resolved_at.is_(None))
    if before_id is not None:
        stmt = stmt.where(PaymentIssue.id < before_id)
    return list(db.session.scalars(stmt.order_by(PaymentIssue.id.desc()).limit(limit)))


def count_open_issues(*, tenant_id: int) -> int:
    """How many payment issues wait for a person (an index range count)."""
    return int(db.session.scalar(select(func.count()).select_from(PaymentIssue).where(
        PaymentIssue.tenant_id == tenant_id, PaymentIssue.resolved_at.is_(None))) or 0)


def resolve_issue(*, tenant_id: int, issue_id: int, actor: str, resolution: str, now: datetime) -> PaymentIssue:
    """The operator marks an issue handled, saying how (audited)."""

    issue = db.session.scalar(select(PaymentIssue).where(PaymentIssue.tenant_id == tenant_id,
                                                         PaymentIssue.id == issue_id).with_for_update())
    if issue is None:
        raise PaymentIssueNotFound()
    if issue.resolved_at is None:
        issue.resolved_at, issue.resolved_by, issue.resolution = now, actor, resolution
        record_audit(tenant_id=tenant_id, actor=actor, action="payments.issue_resolve", target_type="payment_issue",
                     target_id=issue.id, before=None, after={"resolution": resolution})
    return issue


def issue_view(i: PaymentIssue) -> dict[str, Any]:
    return {"id": i.id, "kind": i.kind, "order_id": i.order_id, "refund_id": i.refund_id,
            "out_trade_no": i.out_trade_no, "expected_fen": i.expected_fen, "reported_fen": i.reported_fen,
            "details": i.details, "deliveries": i.deliveries, "created_at": i.created_at.isoformat(),
            "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None,
            "resolved_by": i.resolved_by, "resolution": i.resolution}


# ------------------------------------------------------------------ prepay


def prepay(*, tenant_id: int, member_id: int, order_id: int, now: datetime) -> dict[str, Any]:
    """The wx.requestPayment parameters for the buyer's unpaid order (the WeChat Pay
    order is created once and re-signed on later calls)."""
    order = orders.lock_order(tenant_id=tenant_id, order_id=order_id, member_id=member_id)
    if order is None:
        raise OrderNotFound()
    orders.check_payable(order, now=now)
    member = members.get_member(tenant_id=tenant_id, member_id=member_id)
    if not member.openid:
        raise MemberHasNoOpenid()
    creds = pay_credentials(tenant_id=tenant_id)
    pay = gateway().pay(creds)
    if order.prepay_id is None:
        lines = orders.order_lines(tenant_id=tenant_id, order_ids=[order.id])[order.id]
        count = sum(ln.quantity for ln in lines)
        description = lines[0].product_name + (f" 等{count}件" if count > 1 else "")
        if order.payable_fen - order.stored_fen <= 0:  # stored value paid it all: nothing for WeChat Pay
            raise OrderStateConflict(details={"status": order.status})
        result = pay.jsapi_prepay(out_trade_no=order.order_no, description=description[:120],
                                  amount_fen=order.payable_fen - order.stored_fen, payer_openid=member.openid,
                                  attach=f"order:{order.id}", time_expire=order.pay_deadline,
                                  profit_sharing=order.profit_sharing)
        orders.record_prepay(order=order, prepay_id=result.prepay_id)
        params = dict(result.request_payment)
    else:
        params = pay.sign_request_payment(order.prepay_id)
    due = order.payable_fen - order.stored_fen
    return {"order_id": order.id, "order_no": order.order_no, "appid": creds.appid,
            "amount_fen": due, "amount": yuan(due), "stored_fen": order.stored_fen, "request_payment": params}


def pay_in_sandbox(*, tenant_id: int, member_id: int, order_id: int, now: datetime) -> dict[str, Any]:
    """The H5 shop outside WeChat (sandbox mode only): sign the order's wx.requestPayment
    parameters and, once this unit commits, hand them to the sandbox, which checks the
    signature, pays, and pushes the signed notification back like WeChat Pay does."""
    if gateway().settings.mode != "sandbox":
        raise SandboxOnly()
    params = prepay(tenant_id=tenant_id, member_id=member_id, order_id=order_id, now=now)
    after_commit(lambda: gateway().sandbox_request_payment(params["request_payment"], appid=params["appid"]))
    return {"order_id": order_id, "status": SandboxPaymentStatus.SUBMITTED}


# ------------------------------------------------------------------ notifications


def handle_notification(*, tenant_slug: str, headers: Mapping[str, Any], body: bytes, now: datetime) -> NotifyOutcome:
    """A notification WeChat Pay posted for this tenant: verify it (401 when forged,
    tampered or stale), then apply it once. Transfer results go to finance."""
    pay = cached_pay_credentials(slug=tenant_slug)
    if pay is None:
        read_committed()  # the credentials' read opens the unit of work: at READ COMMITTED
        pay = pay_credentials_by_slug(slug=tenant_slug)
    try:
        n = parse_pay_notification(pay.creds, headers=headers, body=body, now=now)
    except (NotificationBadSignature, NotificationMalformed):
        if not pay.cached:
            raise
        # Keys rotated since they were cached? The stored credentials decide.
        pay = pay_credentials_by_slug(slug=tenant_slug, fresh=True)
        n = parse_pay_notification(pay.creds, headers=headers, body=body, now=now)
    tenant_id = pay.tenant_id
    if n.kind == "transaction":
        # A payment only locks its order by its unique key and updates it (an issue row
        # aside, whose rare deadlock the route's unit of work retries): the isolation
        # level is moot, so no statement is spent setting it.
        tx = n.transaction()
        if pay.cached and (tx.mchid != pay.creds.mchid or tx.appid != pay.creds.appid):
            pay = pay_credentials_by_slug(slug=tenant_slug, fresh=True)
        return apply_transaction(tenant_id=tenant_id, creds=pay.creds, tx=tx, source_key=n.id, now=now)
    read_committed()  # refunds and transfers check for rows that may not exist yet
    if n.kind == "refund":
        return apply_refund(tenant_id=tenant_id, creds=pay.creds, wx=n.refund(), event_type=n.event_type,
                            source_key=n.id, now=now)
    if n.kind == "transfer":
        # A merchant transfer (a withdrawal's payout) whose result reached the orders notify URL.
        if on_transfer_bill(tenant_id=tenant_id, bill=n.transfer_bill(), now=now) == "mismatch":
            return _refused("transfer_mismatch", "转账结果与提现单不符")
        return _accepted("transfer")
    log.info("ignored pay notification %s of type %s", n.id, n.event_type)
    return _accepted("ignored")


def apply_transaction(*, tenant_id: int, creds: PayCredentials, tx: Transaction, source_key: str,
                      now: datetime) -> NotifyOutcome:
    """Apply a payment WeChat Pay reports (notification or query) to its order, once."""
    if not tx.paid:
        return _accepted("ignored")
    order = orders.lock_for_payment(tenant_id=tenant_id, order_no=tx.out_trade_no)
    if order is None:
        _record_issue(tenant_id=tenant_id, kind="unknown_order", dedupe_key=source_key, out_trade_no=tx.out_trade_no,
                      reported_fen=tx.amount_total_fen, details={"transaction_id": tx.transaction_id})
        return _refused("order_not_found", "订单不存在", http_status=404)
    mismatches = []
    if tx.mchid != creds.mchid:
        mismatches.append(("mchid_mismatch", "商户号与订单不符", {"mchid": tx.mchid}))
    if tx.appid != creds.appid:
        mismatches.append(("appid_mismatch", "应用与订单不符", {"appid": tx.appid}))
    if tx.amount_total_fen != order.wechat_due_fen:
        mismatches.append(("amount_mismatch", "支付金额与订单金额不符", {}))
    for kind, _, extra in mismatches:
        _record_issue(tenant_id=tenant_id, kind=kind, dedupe_key=source_key, order=order,
                      expected_fen=order.wechat_due_fen, reported_fen=tx.amount_total_fen,
                      details={"transaction_id": tx.transaction_id, **extra})
    if mismatches:
        kind, message, _ = mismatches[0]
        return _refused(kind, message, order_id=order.id)
    if order.status == OrderStatus.CREATED:
        orders.mark_paid(tenant_id=tenant_id, order=order, transaction_id=tx.transaction_id,
                         paid_fen=tx.amount_total_fen, paid_at=tx.success_time or now, now=now)
        return _accepted("paid", order.id)
    if order.transaction_id is not None and order.transaction_id == tx.transaction_id:
        return _accepted("duplicate", order.id)
    # Money arrived that the order cannot take: keep it in front of the operator, and
    # answer success (repeating the notification would not change that).
    kind = "paid_after_cancel" if order.status == OrderStatus.CANCELLED else "paid_twice"
    _record_issue(tenant_id=tenant_id, kind=kind, dedupe_key=source_key, order=order,
                  expected_fen=order.payable_fen, reported_fen=tx.amount_total_fen,
                  details={"transaction_id": tx.transaction_id, "status": order.status})
    return _accepted("recorded", order.id)


def apply_refund(*, tenant_id: int, creds: PayCredentials, wx: WxRefund, event_type: str, source_key: str,
                 now: datetime) -> NotifyOutcome:
    """Apply a refund's final state WeChat Pay reports to its order, once."""
    order = orders.lock_order(tenant_id=tenant_id, order_no=wx.out_trade_no)
    try:
        refund = orders.get_refund(tenant_id=tenant_id, refund_no=wx.out_refund_no, lock=True)
    except RefundNotFound:
        refund = None
    if order is None or refund is None or refund.order_id != order.id:
        _record_issue(tenant_id=tenant_id, kind="unknown_refund", dedupe_key=source_key, out_trade_no=wx.out_trade_no,
                      reported_fen=wx.refund_fen, details={"out_refund_no": wx.out_refund_no})
        return _refused("refund_not_found", "退款单不存在", http_status=404)
    mchid = wx.raw.get("mchid")
    if mchid is not None and mchid != creds.mchid:
        _record_issue(tenant_id=tenant_id, kind="mchid_mismatch", dedupe_key=source_key, order=order, refund=refund,
                      details={"mchid": mchid})
        return _refused("mchid_mismatch", "商户号与订单不符", order_id=order.id)
    wechat_part = refund.amount_fen - refund.stored_fen - refund.offline_fen  # what we asked WeChat Pay for
    if wx.refund_fen != wechat_part:
        _record_issue(tenant_id=tenant_id, kind="refund_amount_mismatch", dedupe_key=source_key, order=order,
                      refund=refund, expected_fen=wechat_part, reported_fen=wx.refund_fen)
        return _refused("refund_amount_mismatch", "退款金额与退款单不符", order_id=order.id)
    if wx.status == WxRefundStatus.SUCCESS:
        if refund.status == RefundStatus.SUCCEEDED:
            return _accepted("duplicate", order.id)
        if refund.status != RefundStatus.PROCESSING:
            _record_issue(tenant_id=tenant_id, kind="refund_abnormal", dedupe_key=source_key, order=order,
                          refund=refund, details={"status": refund.status, "event_type": event_type})
            return _accepted("recorded", order.id)
        orders.refund_succeeded(order=order, refund=refund, wechat_refund_id=wx.refund_id, now=now)
        return _accepted("refunded", order.id)
    if wx.status in (WxRefundStatus.ABNORMAL, WxRefundStatus.CLOSED):
        if refund.status != RefundStatus.PROCESSING:
            return _accepted("duplicate", order.id)
        orders.refund_failed(order=order, refund=refund, wechat_status=wx.status, reason=f"wechat:{wx.status}", now=now)
        _record_issue(tenant_id=tenant_id, kind=f"refund_{wx.status.lower()}", dedupe_key=source_key, order=order,
                      refund=refund, expected_fen=refund.amount_fen, reported_fen=wx.refund_fen)
        return _accepted("refund_failed", order.id)
    return _accepted("ignored", order.id)


# ------------------------------------------------------------------ closing unpaid orders


def cancel_unpaid(*, tenant_id: int, order_id: int, now: datetime, reason: str = "buyer",
                  member_id: int | None = None) -> OrderInfo:
    """Cancel an unpaid order (the buyer, or the timeout job): close its payment at
    WeChat Pay first; if WeChat says it was paid meanwhile, apply the payment instead
    and refuse the cancellation."""
    order = orders.lock_order(tenant_id=tenant_id, order_id=order_id, member_id=member_id)
    if order is None:
        raise OrderNotFound()
    if order.status == OrderStatus.CANCELLED:
        return order
    if order.status != OrderStatus.CREATED:
        raise OrderStateConflict(details={"status": order.status})
    if order.prepay_id is not None and _paid_meanwhile(tenant_id, order, now):
        raise OrderStateConflict("订单已支付，不能取消", details={"status": order.status})
    return orders.cancel_order(tenant_id=tenant_id, order_id=order.id, reason=reason, now=now, locked=order)


def _paid_meanwhile(tenant_id: int, order: OrderInfo, now: datetime) -> bool:
    creds = pay_credentials(tenant_id=tenant_id)
    pay = gateway().pay(creds)
    try:
        pay.close_order(out_trade_no=order.order_no)
        return False
    except PayOrderNotFound:
        return False  # the payment was never created at WeChat Pay
    except PayRequestRejected as exc:
        if exc.wechat_code != "ORDERPAID":
            raise
    tx = pay.query_order(out_trade_no=order.order_no)
    outcome = apply_transaction(tenant_id=tenant_id, creds=creds, tx=tx, source_key=f"query:{order.order_no}",
                                now=now)
    return outcome.result in ("paid", "duplicate")


def expire_unpaid(*, tenant_id: int, order_id: int, now: datetime) -> str:
    """The timeout job's step for one order: cancelled, paid (WeChat had the money) or
    skipped (no longer due)."""
    read_committed()
    order = orders.lock_order(tenant_id=tenant_id, order_id=order_id)
    if order is None or order.status != OrderStatus.CREATED or order.pay_deadline > now:
        return "skipped"
    try:
        cancel_unpaid(tenant_id=tenant_id, order_id=order_id, now=now, reason="timeout")
    except OrderStateConflict:
        return "paid"
    return "cancelled"


# ------------------------------------------------------------------ refunds


def request_refund(*, tenant_id: int, member_id: int, order_id: int, order_line_id: int | None, reason: str,
                   now: datetime) -> RefundInfo:
    """A buyer asks for a refund of one line or the whole order; the operator decides."""
    return orders.open_refund(tenant_id=tenant_id, order_id=order_id, order_line_id=order_line_id, reason=reason,
                              requested_by=f"member:{member_id}", member_id=member_id, now=now)


def refund_order(*, tenant_id: int, order_id: int, order_line_id: int | None, reason: str, actor: str,
                 now: datetime, keeps_goods: bool = False) -> RefundInfo:
    """An operator refunds one line or the whole order (keeps_goods: the money only, the
    order still ships): submitted to WeChat Pay once the unit of work commits (audited)."""
    refund = orders.open_refund(tenant_id=tenant_id, order_id=order_id, order_line_id=order_line_id, reason=reason,
                                requested_by=actor, now=now, approved=True, keeps_goods=keeps_goods)
    _submit_after_commit(tenant_id, refund.id)
    return refund


def approve_refund(*, tenant_id: int, refund_id: int, actor: str) -> RefundInfo:
    """An operator approves a buyer's refund request: submitted once committed (audited)."""
    refund = orders.approve_refund(tenant_id=tenant_id, refund_id=refund_id, actor=actor)
    if refund.submitted_at is None:
        _submit_after_commit(tenant_id, refund.id)
    return refund


def _submit_after_commit(tenant_id: int, refund_id: int) -> None:

    def submit() -> None:
        run_in_unit_of_work(lambda: submit_refund(tenant_id=tenant_id, refund_id=refund_id, now=utcnow()))

    after_commit(submit)


def submit_refund(*, tenant_id: int, refund_id: int, now: datetime) -> RefundInfo:
    """Send an approved refund to WeChat Pay (idempotent by its refund number) and record
    the answer; a refusal fails the refund, an unreachable WeChat leaves it for retry."""
    refund = orders.get_refund(tenant_id=tenant_id, refund_id=refund_id)
    order = orders.lock_order(tenant_id=tenant_id, order_id=refund.order_id)
    refund = orders.get_refund(tenant_id=tenant_id, refund_id=refund_id, lock=True)
    if order is None or refund.status != RefundStatus.PROCESSING or refund.submitted_at is not None:
        return refund
    wechat_fen = orders.split_refund(order=order, refund=refund)
    if wechat_fen == 0:
        # Paid with stored value or offline only: no WeChat Pay refund to wait for; the
        # money goes back as stored value / is recorded as returned offline (flows).
        orders.refund_submitted(refund=refund, now=now)
        orders.refund_succeeded(order=order, refund=refund, wechat_refund_id=None, now=now)
        return refund
    pay = gateway().pay(pay_credentials(tenant_id=tenant_id))
    # Shares already split away come back first (分账回退, backend/flows/supplier_events.py);
    # one that cannot raises, and the refund waits for the retry job.
    announce("refund_submitting", order=order, refund=refund, now=now)
    try:
        wx = pay.refund(out_refund_no=refund.refund_no, refund_fen=wechat_fen, total_fen=order.paid_fen,
                        out_trade_no=order.order_no, reason=refund.reason[:80] or None)
    except PayRequestRejected as exc:
        orders.refund_failed(order=order, refund=refund, wechat_status=WxRefundStatus.REJECTED,
                             reason=f"wechat:{exc.wechat_code}", now=now)
        _record_issue(tenant_id=tenant_id, kind="refund_rejected", dedupe_key=refund.refund_no, order=order,
                      refund=refund, expected_fen=refund.amount_fen,
                      details={"wechat_code": exc.wechat_code, "wechat_message": exc.wechat_message})
        return refund
    except WeChatError as exc:
        log.warning("refund %s not submitted (%s); the retry job will resend it", refund.refund_no, exc.code)
        return refund
    orders.refund_submitted(refund=refund, now=now, wechat_refund_id=wx.refund_id, wechat_status=wx.status)
    if wx.status == WxRefundStatus.SUCCESS:
        orders.refund_succeeded(order=order, refund=refund, wechat_refund_id=wx.refund_id, now=now)
    elif wx.status in (WxRefundStatus.ABNORMAL, WxRefundStatus.CLOSED):
        orders.refund_failed(order=order, refund=refund, wechat_status=wx.status, reason=f"wechat:{wx.status}",
                             now=now)
    return refund


def unsubmitted_refunds(*, now: datetime, limit: int = 200) -> list[tuple[int, int]]:
    """(tenant_id, refund_id) of approved refunds WeChat Pay has not accepted yet."""
    return orders.unsubmitted_refunds(created_before=now - REFUND_RETRY_AFTER, limit=limit)
