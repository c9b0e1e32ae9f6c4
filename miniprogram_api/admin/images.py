"""Back-office: upload a product image (multipart field `file`); the answer's `url` goes
into a product's `image_url`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, request

from backend.auth.tokens import Principal
from backend.catalog.errors import ImageInvalid
from backend.catalog.images import store_image
from miniprogram_api.http import route
from miniprogram_api.schemas.more import ImageOut

bp = Blueprint("admin_images", __name__, url_prefix="/api/v1/admin/shop")



@route(bp, "/images", method="POST", auth="staff", status=201,
       response=ImageOut, errors=("image_invalid", "image_too_large"))
def upload_image(principal: Principal) -> dict[str, Any]:
    """Upload a product image (PNG, JPEG or WebP, ≤ 5 MB): stored re-encoded, served at `url`."""
    upload = request.files.get("file")
    if upload is None:
        raise ImageInvalid(details=[{"field": "file", "message": "缺少图片文件（表单字段 file）"}])
    stored = store_image(tenant_id=principal.tenant_id, data=upload.read(5 * 1024 * 1024 + 1),
                         actor=f"staff:{principal.subject_id}")
    return asdict(stored)
