"""Product images, public by address (the SHA-256 of their bytes), as an <img> tag or
the mini-program's <image> loads them: no token."""

from __future__ import annotations

from flask import Blueprint, Response

from backend.catalog.images import image_bytes
from miniprogram_api.http import route

bp = Blueprint("media", __name__, url_prefix="/api/v1/media")


@route(bp, "/<name>", auth=None, raw=True, content=("image/png", "image/jpeg", "image/webp"),
       errors=("image_not_found",))
def media(name: str) -> Response:
    """A stored product image (`<sha256>.png` or `.jpg`)."""
    data, content_type = image_bytes(name=name)
    res = Response(data, mimetype=content_type)
    res.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    res.headers["X-Content-Type-Options"] = "nosniff"
    res.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return res
