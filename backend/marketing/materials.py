"""Material library verbs (素材库): the brand publishes pictures, videos (by URL) and copy
by category and product; promoters download and share them; every download, share and
binding through a material's link is counted. Filling a promoter's link into the copy
and the poster are in backend/flows/materials.py (they need posters and members)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from backend.audit.service import record_audit
from backend.bulk import insert_ignore
from backend.db import rowcount
from backend.extensions import db
from backend.marketing.errors import InvalidMarketingInput, MaterialNotFound
from backend.marketing.models import MATERIAL_KINDS, Material, MaterialEvent
from backend.marketing.types import MaterialStatus

MAX_MEDIA = 9


def _errors(kind: str, title: str, body: str, media_urls: Sequence[str]) -> list[dict[str, str]]:
    errors = []
    if kind not in MATERIAL_KINDS:
        errors.append({"field": "kind", "message": "类型须为 image、video 或 copy"})
    if not 1 <= len(title.strip()) <= 60:
        errors.append({"field": "title", "message": "标题须为 1–60 个字符"})
    if len(body) > 2000:
        errors.append({"field": "body", "message": "文案最多 2000 个字符"})
    if any(not u.startswith("https://") or len(u) > 512 for u in media_urls):
        errors.append({"field": "media_urls", "message": "图片和视频须为 https 地址"})
    if kind == "image" and not 1 <= len(media_urls) <= MAX_MEDIA:
        errors.append({"field": "media_urls", "message": f"图片素材须有 1–{MAX_MEDIA} 张图片"})
    if kind == "video" and len(media_urls) != 1:
        errors.append({"field": "media_urls", "message": "视频素材须有一个视频地址"})
    if kind == "copy" and not body.strip():
        errors.append({"field": "body", "message": "文案素材须有文案"})
    return errors


def create_material(*, tenant_id: int, kind: str, title: str, body: str, media_urls: Sequence[str], category: str,
                    product_id: int | None, actor: str) -> Material:
    """Publish a material (the caller checked the product is the tenant's) (audited)."""
    errors = _errors(kind, title, body, media_urls)
    if errors:
        raise InvalidMarketingInput(details=errors)
    row = Material(tenant_id=tenant_id, kind=kind, title=title.strip(), body=body, media_urls=list(media_urls) or None,
                   category=category.strip()[:40], product_id=product_id, status=MaterialStatus.ACTIVE)
    db.session.add(row)
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="marketing.material_create", target_type="material",
                 target_id=row.id, before=None, after=material_view(row))
    return row


def set_material_status(*, tenant_id: int, material_id: int, status: str, actor: str) -> Material:
    """Hide a material from promoters or show it again (audited)."""
    if status not in (MaterialStatus.ACTIVE, MaterialStatus.HIDDEN):
        raise InvalidMarketingInput(details=[{"field": "status", "message": "须为 active 或 hidden"}])
    row = get_material(tenant_id=tenant_id, material_id=material_id)
    before, row.status = row.status, status
    record_audit(tenant_id=tenant_id, actor=actor, action="marketing.material_status", target_type="material",
                 target_id=row.id, before={"status": before}, after={"status": status})
    return row


def get_material(*, tenant_id: int, material_id: int, active_only: bool = False) -> Material:
    stmt = select(Material).where(Material.tenant_id == tenant_id, Material.id == material_id)
    if active_only:
        stmt = stmt.where(Material.status == MaterialStatus.ACTIVE)
    row = db.session.scalar(stmt)
    if row is None:
        raise MaterialNotFound()
    return row


def list_materials(*, tenant_id: int, category: str | None = None, product_id: int | None = None,
                   kind: str | None = None, active_only: bool = True, before_id: int | None = None,
                   limit: int = 20) -> list[Material]:
    """The library, newest first, by category, product or kind."""
    stmt = select(Material).where(Material.tenant_id == tenant_id)
    for column, value in ((Material.category, category), (Material.product_id, product_id), (Material.kind, kind)):
        if value is not None:
            stmt = stmt.where(column == value)
    if active_only:
        stmt = stmt.where(Material.status == MaterialStatus.ACTIVE)
    if before_id is not None:
        stmt = stmt.where(Material.id < before_id)
    return list(db.session.scalars(stmt.order_by(Material.id.desc()).limit(limit)))


def material_view(m: Material) -> dict[str, Any]:
    return {"id": m.id, "kind": m.kind, "title": m.title, "body": m.body, "media_urls": m.media_urls or [],
            "category": m.category, "product_id": m.product_id, "status": m.status,
            "created_at": m.created_at.isoformat() if m.created_at else None}


def record_event(*, tenant_id: int, material_id: int, member_id: int, kind: str, now: datetime,
                 dedupe_key: str | None = None) -> bool:
    """Count a download, share or binding (a binding once per member: dedupe_key)."""
    return rowcount(db.session.execute(insert_ignore(MaterialEvent.__table__).values(
        tenant_id=tenant_id, material_id=material_id, member_id=member_id, kind=kind, dedupe_key=dedupe_key,
        created_at=now))) == 1


def record_bindings(*, tenant_id: int, bound: Sequence[tuple[int, int]], now: datetime) -> int:
    """Count a batch of (material, member) bindings, each member once (its dedupe key):
    the materials that exist in one read, the events in one INSERT IGNORE; returns how
    many were new."""
    if not bound:
        return 0
    known = set(db.session.scalars(select(Material.id).where(
        Material.tenant_id == tenant_id, Material.id.in_(sorted({m for m, _ in bound})))))
    rows = [{"tenant_id": tenant_id, "material_id": material_id, "member_id": member_id, "kind": "binding",
             "dedupe_key": f"bind:{member_id}", "created_at": now}
            for material_id, member_id in bound if material_id in known]
    if not rows:
        return 0
    return rowcount(db.session.execute(insert_ignore(MaterialEvent.__table__), rows))


def material_exists(*, tenant_id: int, material_id: int) -> bool:
    return db.session.scalar(select(Material.id).where(Material.tenant_id == tenant_id,
                                                       Material.id == material_id)) is not None


def event_counts(*, tenant_id: int, material_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Downloads, shares and bindings per material."""
    out = {m: {"downloads": 0, "shares": 0, "bindings": 0} for m in material_ids}
    names = {"download": "downloads", "share": "shares", "binding": "bindings"}
    if material_ids:
        for mid, kind, n in db.session.execute(select(MaterialEvent.material_id, MaterialEvent.kind, func.count())
                                               .where(MaterialEvent.tenant_id == tenant_id,
                                                      MaterialEvent.material_id.in_(material_ids))
                                               .group_by(MaterialEvent.material_id, MaterialEvent.kind)):
            out[mid][names[kind]] = int(n)
    return out


def members_bound(*, tenant_id: int, material_ids: Sequence[int]) -> dict[int, list[int]]:
    """The members each material's link bound."""
    out: dict[int, list[int]] = {m: [] for m in material_ids}
    if material_ids:
        for mid, member in db.session.execute(select(MaterialEvent.material_id, MaterialEvent.member_id).where(
                MaterialEvent.tenant_id == tenant_id, MaterialEvent.material_id.in_(material_ids),
                MaterialEvent.kind == "binding")):
            out[mid].append(member)
    return out
