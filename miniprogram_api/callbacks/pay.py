"""WeChat Pay notifications (payment, refund, merchant transfer, recharge) for one tenant.

The notify_url of a tenant's payments and refunds is /api/v1/pay/notify/<slug>
(refunds may also use /api/v1/pay/refund-notify/<slug>); a withdrawal's merchant
transfer reports to /api/v1/pay/transfer-notify/<slug>, a recharge's payment to
/api/v1/pay/recharge-notify/<slug>. Success is an empty 204, as
WeChat Pay v3 expects; a forged, tampered or stale notification is 401 and changes
nothing; one that does not fit its order is recorded for the operator and refused.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from backend.db import utcnow
from backend.finance import service as finance
from backend.finance.errors import NotificationMismatch
from backend.payments import service as payments
from miniprogram_api.http import route

bp = Blueprint("pay_notify", __name__, url_prefix="/api/v1/pay")


def _answer(outcome: payments.NotifyOutcome) -> Response:
    if outcome.accepted:
        return Response(status=204)
    res = jsonify({"code": outcome.code, "message": outcome.message})
    res.status_code = outcome.http_status
    return res


def _handle(tenant_slug: str) -> Response:
    outcome = payments.handle_notification(tenant_slug=tenant_slug, headers=request.headers,
                                           body=request.get_data(cache=True), now=utcnow())
    return _answer(outcome)


@route(bp, "/notify/<tenant_slug>", method="POST", auth=None, raw=True, status=204,
       errors=("amount_mismatch", "bad_signature", "mchid_mismatch", "order_not_found", "refund_amount_mismatch", "stale_notification", "tenant_not_found"))
def pay_notify(tenant_slug: str) -> Response:
    """WeChat Pay notification (payment, refund or transfer) for this tenant."""
    return _handle(tenant_slug)


@route(bp, "/refund-notify/<tenant_slug>", method="POST", auth=None, raw=True, status=204,
       errors=("bad_signature", "tenant_not_found"))
def refund_notify(tenant_slug: str) -> Response:
    """WeChat Pay refund notification for this tenant (same handling as /notify)."""
    return _handle(tenant_slug)


def _notification(tenant_slug: str, expect: str) -> Response:
    outcome = finance.handle_finance_notification(tenant_slug=tenant_slug, headers=request.headers,
                                                  body=request.get_data(cache=True), now=utcnow(),
                                                  expect=expect)
    if outcome == "mismatch":  # recorded for the operator (this unit of work commits it)
        res = jsonify(NotificationMismatch().to_dict())
        res.status_code = NotificationMismatch.http_status
        return res
    return Response(status=204)


@route(bp, "/transfer-notify/<tenant_slug>", method="POST", auth=None, raw=True, status=204,
       errors=("bad_signature", "stale_notification", "tenant_not_found"))
def transfer_notify(tenant_slug: str) -> Response:
    """WeChat Pay merchant-transfer result (MCHTRANSFER.BILL.FINISHED) for a withdrawal:
    204 when applied (or already applied); 401 forged, tampered or stale."""
    return _notification(tenant_slug, "transfer")


@route(bp, "/recharge-notify/<tenant_slug>", method="POST", auth=None, raw=True, status=204,
       errors=("bad_signature", "notification_mismatch", "stale_notification", "tenant_not_found"))
def recharge_notify(tenant_slug: str) -> Response:
    """WeChat Pay payment result of a recharge: 204 when credited (or already); 401 forged,
    tampered or stale; 400 when it does not match the recharge (recorded)."""
    return _notification(tenant_slug, "recharge")

