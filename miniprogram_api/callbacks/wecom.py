"""The WeCom callback, one URL per tenant: /wecom/<tenant slug> (customer-contact events)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from backend.db import run_in_unit_of_work, utcnow
from backend.scrm import service as scrm
from miniprogram_api.http import ROUTES, RouteDoc, limit_body

bp = Blueprint("wecom", __name__)



@bp.get("/wecom/<slug>")
def wecom_verify(slug: str) -> Response:
    """WeCom's URL check: the decrypted echostr when the signature verifies."""
    echo = scrm.verify_wecom_url(tenant_slug=slug, query=request.args.to_dict())
    return Response(echo, mimetype="text/plain")


@bp.post("/wecom/<slug>")
def wecom_callback(slug: str) -> Response:
    """Customer-contact events (a customer added or deleted a staff member)."""
    limit_body("callback")  # 413 before reading anything larger than a push
    body = request.get_data()
    answer = run_in_unit_of_work(lambda: scrm.handle_wecom_callback(
        tenant_slug=slug, query=request.args.to_dict(), body=body, now=utcnow()))
    return Response(answer, mimetype="text/plain")


ROUTES.append(RouteDoc(rule="/wecom/<slug>", method="GET", summary="企业微信回调 URL 校验",
                       tag="scrm_wecom", auth=None, body=None, query=None, path_params=["slug"]))


ROUTES.append(RouteDoc(rule="/wecom/<slug>", method="POST", summary="企业微信客户联系事件回调",
                       tag="scrm_wecom", auth=None, body=None, query=None, path_params=["slug"]))
