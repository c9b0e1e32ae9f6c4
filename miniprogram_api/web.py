"""The two web faces, built by Vite into web/dist (`./dev run` and `./dev test` build it
when web/ changed): the back-office at /admin/ and the H5 shop at /h5/. Both are
single pages with hash routes; their bundles are served from /assets/.

Every answer here carries nosniff and a Content-Security-Policy that allows only this
origin: no CDN, no inline script, no framing."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, redirect, request, send_from_directory

DIST = Path(__file__).resolve().parent.parent / "web" / "dist"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")

bp = Blueprint("web", __name__)


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _page(name: str) -> Response:
    if not (DIST / name / "index.html").is_file():
        return Response("<!doctype html><meta charset=utf-8><title>思语</title>"
                        "<p>页面尚未构建：请用 ./dev run 启动（会自动构建 web/），"
                        "或在 web/ 下运行 npm ci &amp;&amp; npm run build。</p>",
                        status=503, mimetype="text/html")
    response = send_from_directory(DIST / name, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/admin")
@bp.get("/h5")
def _no_slash() -> Response:
    return redirect(request.path + "/", code=308)


@bp.get("/admin/")
def admin_page() -> Response:
    """The back-office (管理后台)."""
    return _page("admin")


@bp.get("/h5/")
def h5_page() -> Response:
    """The H5 shop (网页商城)."""
    return _page("h5")


@bp.get("/assets/<path:filename>")
def assets(filename: str) -> Response:
    """The pages' bundles (content-hashed names, cached for a year)."""
    response = send_from_directory(DIST / "assets", filename, max_age=31536000)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
