"""The WeCom callback, one URL per tenant: /wecom/<tenant slug> (customer-contact events)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from backend.db import utcnow
from backend.scrm import service as scrm
from miniprogram_api.http import route

bp = Blueprint("wecom", __name__)


@route(bp, "/wecom/<slug>", auth=None, raw=True, content="text/plain",
       errors=("bad_signature", "tenant_not_found"))
def wecom_verify(slug: str) -> Response:
    """企业微信回调 URL 校验

    WeCom's URL check: the decrypted echostr when the signature verifies."""
    echo = scrm.verify_wecom_url(tenant_slug=slug, query=request.args.to_dict())
    return Response(echo, mimetype="text/plain")


@route(bp, "/wecom/<slug>", method="POST", auth=None, raw=True, content="text/plain",
       errors=("bad_signature", "push_replayed", "push_stale", "tenant_not_found"), body_limit="callback")
def wecom_callback(slug: str) -> Response:
    """企业微信客户联系事件回调

    Customer-contact events (a customer added or deleted a staff member)."""
    answer = scrm.handle_wecom_callback(tenant_slug=slug, query=request.args.to_dict(),
                                        body=request.get_data(), now=utcnow())
    return Response(answer, mimetype="text/plain")
