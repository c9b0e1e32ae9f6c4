"""Public verification, no login: an agent certificate by serial (the QR on the
certificate opens /verify/certificate/<serial>), and an anti-counterfeit code (the QR
printed on the goods opens /scan/<code>; a coarse location rides along as
?province=&city=, from the page's geolocation or the mini-program). HTML pages in Chinese, sent with
nosniff and a restrictive CSP; the same answers as JSON under /api/v1/public/."""

from __future__ import annotations

import html
from typing import Any

from flask import Blueprint, Response, request
from pydantic import Field

from backend.agents import service as agents
from backend.anticounterfeit import service as ac
from backend.db import run_in_unit_of_work, utcnow
from backend.errors import DomainError
from miniprogram_api.http import ROUTES, Body, RouteDoc, client_address, route
from miniprogram_api.schemas.public import CertificatePublicOut, ScanOut

bp = Blueprint("verify", __name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em 1em;color:#333;max-width:36em}}
.ok{{color:#1a7f37}}.bad{{color:#c62828}}.warn{{color:#b26a00}}dt{{color:#888;margin-top:.6em}}dd{{margin:0}}</style>
<h2>{title}</h2>{body}</html>"""


def page(title: str, body: str, status: int = 200) -> Response:
    """A small Chinese HTML page with the security headers (everything inside escaped by the caller)."""
    return Response(PAGE.format(title=html.escape(title), body=body), status=status, mimetype="text/html",
                    headers=SECURITY_HEADERS)


def _rows(pairs: list[tuple[str, Any]]) -> str:
    return "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in pairs) + "</dl>"


@bp.get("/verify/certificate/<serial>")
def certificate_page(serial: str) -> Response:
    """The certificate's holder, level, validity and status, or that the serial is forged."""
    try:
        c = agents.verify_certificate(serial=serial[:64], now=utcnow())
    except DomainError as exc:
        return page("证书验证", f'<p class="bad">✗ {html.escape(exc.message)}</p>', exc.http_status)
    css = "ok" if c["status"] == "valid" else "bad"
    mark = "✓ 证书有效" if c["status"] == "valid" else f"✗ 证书{c['status_text']}"
    return page("代理证书验证", f'<p class="{css}"><b>{html.escape(mark)}</b></p>' + _rows([
        ("持证人", c["holder_name"]), ("代理等级", c["level_name"]), ("授权商品", c["products"]),
        ("授权区域", c["region"]), ("有效期", f"{c['valid_from']} 至 {c['valid_until']}"),
        ("证书编号", c["serial"]), ("状态", c["status_text"])]))


@route(bp, "/api/v1/public/certificates/<serial>", auth=None, response=CertificatePublicOut,
       errors=("certificate_not_found",))
def certificate_api(serial: str) -> dict[str, Any]:
    """A certificate's public facts by serial (404 certificate_not_found for a forged one)."""
    c = agents.verify_certificate(serial=serial[:64], now=utcnow())
    return {k: v for k, v in c.items() if k not in ("tenant_id", "certificate_id")}


ROUTES.append(RouteDoc(rule="/verify/certificate/<serial>", method="GET", summary="代理证书验证页（公开）",
                       tag="verify", auth=None, body=None, query=None, content="text/html", path_params=["serial"],
                       errors=("not_found", "certificate_not_found")))


class ScanIn(Body):
    province: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=20)


def _place() -> tuple[str | None, str | None]:
    return request.args.get("province", "")[:20] or None, request.args.get("city", "")[:20] or None


# Where this scan's place came from (ac.scan's place_source): the phone's location sent
# with the scan, or the caller's address looked up in the offline ip2region data.
PLACE_SOURCES = {"client": "手机定位", "ip": "网络位置（按 IP 估算）"}


@bp.route("/scan/<code>", methods=["GET"])
def scan_page(code: str) -> Response:
    """The scan page: authentic or not, the product, the first scan, the count, a warning on repeats."""
    province, city = _place()
    try:
        r = run_in_unit_of_work(lambda: ac.scan(code=code[:64], now=utcnow(), province=province, city=city,
                                                ip=client_address()))
    except DomainError as exc:
        return page("防伪查询", f'<p class="bad"><b>✗ {html.escape(exc.message)}</b></p>', exc.http_status)
    css = "warn" if r["repeated"] else "ok"
    return page("防伪查询", f'<p class="{css}"><b>{html.escape(r["message"])}</b></p>' + _rows([
        ("商品", r["product_name"]), ("防伪码", r["code"]), ("查询次数", r["scan_count"]),
        ("首次查询时间", r["first_scan_at"] or ""), ("首次查询地点", r["first_scan_place"]),
        ("本次查询定位", PLACE_SOURCES.get(r["place_source"], "未能定位"))]))



@route(bp, "/api/v1/public/scan/<code>", method="POST", auth=None, body=ScanIn, response=ScanOut,
       errors=("unknown_code",))
def scan_api(code: str, body: ScanIn) -> dict[str, Any]:
    """Scan a code (404 unknown_code for one that does not exist); without a province,
    the place is looked up from the caller's IP address (offline ip2region data)."""
    return ac.scan(code=code[:64], now=utcnow(), province=body.province, city=body.city, ip=client_address())


ROUTES.append(RouteDoc(rule="/scan/<code>", method="GET", summary="防伪码查询页（公开）",
                       tag="verify", auth=None, body=None, query=None, content="text/html", path_params=["code"],
                       errors=("not_found", "unknown_code")))
