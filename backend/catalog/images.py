"""Product images: checked and re-encoded with Pillow on the way in (whatever was
uploaded, what is stored and served is a plain PNG or JPEG without metadata), stored
once per tenant and content, and addressed by the SHA-256 of the stored bytes."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from backend.audit.service import record_audit
from backend.catalog.errors import ImageInvalid, ImageNotFound, ImageTooLarge
from backend.catalog.models import CatalogImage
from backend.db import utcnow
from backend.extensions import db

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 4000
URL_PREFIX = "/api/v1/media/"
_EXT = {"image/png": "png", "image/jpeg": "jpg"}


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    content_type: str
    width: int
    height: int
    url: str


def _reencode(data: bytes) -> tuple[bytes, str, int, int]:
    if len(data) > MAX_BYTES:
        raise ImageTooLarge()
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ("PNG", "JPEG", "WEBP"):
                raise ImageInvalid()
            if img.width > MAX_SIDE or img.height > MAX_SIDE:
                raise ImageTooLarge()
            img.load()
            has_alpha = img.mode in ("RGBA", "LA", "P") and img.format != "JPEG"
            out = io.BytesIO()
            if has_alpha:
                img.convert("RGBA").save(out, format="PNG", optimize=True)
                kind = "image/png"
            else:
                img.convert("RGB").save(out, format="JPEG", quality=88, optimize=True)
                kind = "image/jpeg"
            return out.getvalue(), kind, img.width, img.height
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageInvalid() from exc


def _view(row: CatalogImage) -> StoredImage:
    return StoredImage(sha256=row.sha256, content_type=row.content_type, width=row.width, height=row.height,
                       url=f"{URL_PREFIX}{row.sha256}.{_EXT[row.content_type]}")


def store_image(*, tenant_id: int, data: bytes, actor: str) -> StoredImage:
    """Check, re-encode and keep an image of the tenant (the same bytes twice: one row)."""
    clean, kind, width, height = _reencode(data)
    sha = hashlib.sha256(clean).hexdigest()
    row = db.session.scalar(select(CatalogImage).where(CatalogImage.tenant_id == tenant_id,
                                                       CatalogImage.sha256 == sha))
    if row is None:
        row = CatalogImage(tenant_id=tenant_id, sha256=sha, content_type=kind, width=width, height=height,
                           data=clean, created_at=utcnow())
        db.session.add(row)
        db.session.flush()
        record_audit(tenant_id=tenant_id, actor=actor, action="catalog.image_upload", target_type="image",
                     target_id=row.id, before=None, after={"sha256": sha, "width": width, "height": height})
    return _view(row)


def image_bytes(*, name: str) -> tuple[bytes, str]:
    """The bytes and content type of `<sha256>.<ext>` (its address is its content, so
    any tenant's copy is the same image)."""
    sha, _, ext = name.partition(".")
    if len(sha) != 64 or ext not in _EXT.values():
        raise ImageNotFound()
    row = db.session.execute(select(CatalogImage.data, CatalogImage.content_type)
                             .where(CatalogImage.sha256 == sha.lower()).limit(1)).first()
    if row is None or _EXT[row.content_type] != ext:
        raise ImageNotFound()
    return bytes(row.data), row.content_type
