"""The official account's message endpoint, one URL per tenant: /oa/<tenant slug>."""

from __future__ import annotations

from flask import Blueprint, Response, request

from backend.db import utcnow
from backend.oa import service as oa
from miniprogram_api.http import route

bp = Blueprint("official_account", __name__, url_prefix="/oa")


@route(bp, "/<slug>", auth=None, raw=True, content="text/plain",
       errors=("bad_signature", "push_stale", "tenant_not_found"))
def verify(slug: str) -> Response:
    """公众号 URL 校验 (echostr)

    WeChat's URL check: echo echostr when the signature verifies (403 otherwise)."""
    echo = oa.verify_url(tenant_slug=slug, query=request.args.to_dict())
    return Response(echo, mimetype="text/plain")


@route(bp, "/<slug>", method="POST", auth=None, raw=True, content=("application/xml", "text/plain"),
       errors=("bad_push", "bad_signature", "push_plaintext_refused", "push_replayed", "push_stale", "tenant_not_found"), body_limit="callback")
def push(slug: str) -> Response:
    """公众号消息与事件推送

    Events and messages: plain or safe (AES) mode; the reply is XML or 'success'."""
    result = oa.handle_push(tenant_slug=slug, query=request.args.to_dict(), body=request.get_data(),
                            now=utcnow())
    return Response(result.body, mimetype="application/xml" if result.body != "success"
                    else "text/plain")

