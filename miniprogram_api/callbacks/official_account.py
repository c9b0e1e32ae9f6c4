"""The official account's message endpoint, one URL per tenant: /oa/<tenant slug>."""

from __future__ import annotations

from flask import Blueprint, Response, request

from backend.db import run_in_unit_of_work, utcnow
from backend.oa import service as oa
from miniprogram_api.http import ROUTES, RouteDoc, limit_body

bp = Blueprint("official_account", __name__, url_prefix="/oa")


@bp.get("/<slug>")
def verify(slug: str) -> Response:
    """WeChat's URL check: echo echostr when the signature verifies (403 otherwise)."""
    echo = oa.verify_url(tenant_slug=slug, query=request.args.to_dict())
    return Response(echo, mimetype="text/plain")


@bp.post("/<slug>")
def push(slug: str) -> Response:
    """Events and messages: plain or safe (AES) mode; the reply is XML or 'success'."""
    limit_body("callback")  # 413 before reading anything larger than a push
    body = request.get_data()
    result = run_in_unit_of_work(lambda: oa.handle_push(
        tenant_slug=slug, query=request.args.to_dict(), body=body, now=utcnow()))
    return Response(result.body, mimetype="application/xml" if result.body != "success"
                    else "text/plain")


ROUTES.append(RouteDoc(rule="/oa/<slug>", method="GET", summary="公众号 URL 校验 (echostr)",
                       tag="official_account", auth=None, body=None, query=None,
                       path_params=["slug"]))
ROUTES.append(RouteDoc(rule="/oa/<slug>", method="POST", summary="公众号消息与事件推送",
                       tag="official_account", auth=None, body=None, query=None,
                       path_params=["slug"]))
