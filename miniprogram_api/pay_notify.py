"""WeChat Pay notifications (payment, refund, merchant transfer) for one tenant.

The notify_url of a tenant's payments and refunds is /api/v1/pay/notify/<slug>
(refunds may also use /api/v1/pay/refund-notify/<slug>). Success is an empty 204, as
WeChat Pay v3 expects; a forged, tampered or stale notification is 401 and changes
nothing; one that does not fit its order is recorded for the operator and refused.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from backend.db import utcnow
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


@route(bp, "/notify/<tenant_slug>", method="POST", auth=None, raw=True)
def pay_notify(tenant_slug: str) -> Response:
    """WeChat Pay notification (payment, refund or transfer) for this tenant."""
    return _handle(tenant_slug)


@route(bp, "/refund-notify/<tenant_slug>", method="POST", auth=None, raw=True)
def refund_notify(tenant_slug: str) -> Response:
    """WeChat Pay refund notification for this tenant (same handling as /notify)."""
    return _handle(tenant_slug)
