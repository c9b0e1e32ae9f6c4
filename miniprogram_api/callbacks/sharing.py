"""WeChat Pay profit-sharing notifications (PROFITSHARING.SUCCESS|CLOSED) for one tenant:
/api/v1/pay/sharing-notify/<slug> (the address set for 分账动账通知 at WeChat Pay).
204 when applied (or already); 401 forged, tampered or stale; 404 an unknown split."""

from __future__ import annotations

from flask import Blueprint, Response, request

from backend.db import utcnow
from backend.suppliers import sharing
from miniprogram_api.http import route

bp = Blueprint("sharing_notify", __name__, url_prefix="/api/v1/pay")


@route(bp, "/sharing-notify/<tenant_slug>", method="POST", auth=None, raw=True, status=204,
       errors=("tenant_not_found",))
def sharing_notify(tenant_slug: str) -> Response:
    """A profit-sharing result for one of this tenant's splits."""
    sharing.handle_notification(tenant_slug=tenant_slug, headers=request.headers, body=request.get_data(cache=True),
                                now=utcnow())
    return Response(status=204)
