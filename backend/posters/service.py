"""Poster verbs: tenant templates (validated, versioned) and a member's rendered poster.

A poster's QR carries the promoter's scene (backend.members.scene): a mini-program
code from getUnlimited when the tenant has a mini-program, else a plain QR of the
share link. Rendered PNGs are cached as files keyed by everything they show
(backend/posters/cache.py), so an unchanged poster costs one file read and no
WeChat call.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from backend.audit.service import record_audit
from backend.extensions import db
from backend.members.scene import Scene
from backend.members.service import get_member
from backend.members.types import MemberInfo
from backend.posters import fetch
from backend.posters.assets import default_assets
from backend.posters.cache import PosterCache, PosterKey
from backend.posters.errors import (
    InvalidTemplate,
    PosterKindUnavailable,
    PosterKindUnknown,
    PosterSubjectRequired,
    PosterTemplateActiveConflict,
    PosterTemplateNotFound,
)
from backend.posters.layout import KINDS, Layout, parse_layout
from backend.posters.models import PosterTemplate
from backend.posters.render import PosterData, QrImage, QrPayload, QrText
from backend.posters.render import render_poster as draw
from backend.posters.subjects import PosterSubject, subject_loader
from backend.tenants.service import get_tenant
from backend.tenants.types import TenantInfo
from backend.wechat.service import credentials, gateway

log = logging.getLogger(__name__)

MAX_LAYOUT_CHARS = 64 * 1024
# Mini-program pages the codes open (the mini-program reads `scene` from its options).
PAGES = {"invite": "pages/index/index", "product": "pages/product/detail",
         "shop": "pages/shop/index", "live": "pages/live/room"}
DEFAULT_TEXTS = {"headline": "好物自用省钱，分享还能赚"}
SAMPLE_NICKNAME = "示例昵称"
SAMPLE_CERTIFICATE = {"level_name": "一级代理", "products": "全部商品", "region": "浙江省杭州市",
                      "valid_from": "2026-01-01", "valid_until": "2026-12-31", "serial": "ACSAMPLE00000"}


@dataclass(frozen=True)
class RenderedPoster:
    png: bytes
    etag: str  # the cache key's digest: equal etags, equal pixels
    cached: bool


# ------------------------------------------------------------------ templates


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise PosterKindUnknown()
    return kind


def _parse(layout: str | dict[str, Any]) -> tuple[str, Layout]:
    text = layout if isinstance(layout, str) else json.dumps(layout, ensure_ascii=False)
    if len(text) > MAX_LAYOUT_CHARS:
        raise InvalidTemplate([{"field": "$", "message": f"模板不能超过 {MAX_LAYOUT_CHARS} 个字符"}])
    return text, _parse_cached(text)


@lru_cache(maxsize=256)
def _parse_cached(text: str) -> Layout:
    return parse_layout(text, asset_exists=default_assets().exists)


def _summary(t: PosterTemplate) -> dict[str, Any]:
    return {"kind": t.kind, "name": t.name, "version": t.version, "active": t.active,
            "layout_sha256": hashlib.sha256(t.layout_json.encode()).hexdigest()[:16]}


def _activate(t: PosterTemplate) -> None:
    db.session.execute(update(PosterTemplate).where(
        PosterTemplate.tenant_id == t.tenant_id, PosterTemplate.active_kind == t.kind,
        PosterTemplate.id != t.id).values(active_kind=None).execution_options(
        synchronize_session="fetch"))
    t.active_kind = t.kind
    try:
        db.session.flush()
    except IntegrityError:  # another request activated one of this kind at the same time
        raise PosterTemplateActiveConflict() from None


def create_template(*, tenant_id: int, kind: str, name: str, layout: str | dict[str, Any],
                    active: bool = False, actor: str) -> PosterTemplate:
    """Add a validated template for a poster kind (InvalidTemplate lists every problem)."""
    _check_kind(kind)
    text, _ = _parse(layout)
    template = PosterTemplate(tenant_id=tenant_id, kind=kind, name=name, layout_json=text,
                              version=1)
    db.session.add(template)
    db.session.flush()
    if active:
        _activate(template)
    record_audit(tenant_id=tenant_id, actor=actor, action="poster_template.create",
                 target_type="poster_template", target_id=template.id, before=None,
                 after=_summary(template))
    return template


def get_template(*, tenant_id: int, template_id: int) -> PosterTemplate:
    """One template of this tenant, or PosterTemplateNotFound (never another tenant's)."""
    template = db.session.get(PosterTemplate, template_id)
    if template is None or template.tenant_id != tenant_id:
        raise PosterTemplateNotFound()
    return template


def list_templates(*, tenant_id: int, kind: str | None = None) -> list[PosterTemplate]:
    """The tenant's templates, optionally of one kind, oldest first."""
    stmt = select(PosterTemplate).where(PosterTemplate.tenant_id == tenant_id)
    if kind is not None:
        stmt = stmt.where(PosterTemplate.kind == _check_kind(kind))
    return list(db.session.scalars(stmt.order_by(PosterTemplate.id).limit(500)))


def update_template(*, tenant_id: int, template_id: int, actor: str, name: str | None = None,
                    layout: str | dict[str, Any] | None = None,
                    active: bool | None = None) -> PosterTemplate:
    """Rename, replace the layout (bumps the version) or (de)activate a template."""
    template = get_template(tenant_id=tenant_id, template_id=template_id)
    before = _summary(template)
    if name is not None:
        template.name = name
    if layout is not None:
        text, _ = _parse(layout)
        if text != template.layout_json:
            template.layout_json = text
            template.version += 1
    if active is True and not template.active:
        _activate(template)
    elif active is False:
        template.active_kind = None
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="poster_template.update",
                 target_type="poster_template", target_id=template.id, before=before,
                 after=_summary(template))
    return template


def delete_template(*, tenant_id: int, template_id: int, actor: str) -> None:
    """Remove a template; if it was active, the shipped default takes over."""
    template = get_template(tenant_id=tenant_id, template_id=template_id)
    record_audit(tenant_id=tenant_id, actor=actor, action="poster_template.delete",
                 target_type="poster_template", target_id=template.id,
                 before=_summary(template), after=None)
    db.session.delete(template)
    db.session.flush()


def template_view(t: PosterTemplate) -> dict[str, Any]:
    return {"id": t.id, "kind": t.kind, "name": t.name, "version": t.version,
            "active": t.active, "layout": json.loads(t.layout_json),
            "updated_at": t.updated_at.isoformat()}


def default_template(*, kind: str) -> dict[str, Any]:
    """The shipped layout of a kind, as a starting point for the tenant's own."""
    return json.loads(default_assets().default_layout_json(_check_kind(kind)))


def effective_layout(*, tenant_id: int, kind: str) -> tuple[Layout, str]:
    """The layout posters of a kind use now, and its version string for the cache key."""
    template = db.session.scalar(select(PosterTemplate).where(
        PosterTemplate.tenant_id == tenant_id, PosterTemplate.active_kind == kind))
    if template is not None:
        try:
            version = f"t{template.id}.{template.version}.{template.created_at.timestamp():.0f}"
            return _parse_cached(template.layout_json), version
        except InvalidTemplate:  # e.g. an asset it named was removed by a later release
            log.warning("poster template %s no longer valid; using the default", template.id)
    text = default_assets().default_layout_json(kind)
    return (default_assets().default_layout(kind),
            "default." + hashlib.sha256(text.encode()).hexdigest()[:16])


# ------------------------------------------------------------------ rendering


def _cache() -> PosterCache:
    root = current_app.config.get("POSTER_CACHE_DIR") or Path(current_app.instance_path,
                                                              "poster_cache")
    return PosterCache(root)


def _image_hosts() -> tuple[str, ...]:
    return tuple(current_app.config.get("POSTER_IMAGE_HOSTS") or fetch.DEFAULT_IMAGE_HOSTS)


def share_link(*, tenant: TenantInfo, scene: str) -> str:
    """The H5 share link carrying a scene, for tenants without a mini-program."""
    base = current_app.config["SIYU_SETTINGS"].public_base_url.rstrip("/")
    return f"{base}/s/{tenant.slug}?scene={quote(scene, safe='')}"


def _invite_subject(tenant: TenantInfo) -> PosterSubject:
    texts = {**DEFAULT_TEXTS, "shop_name": tenant.name}
    version = hashlib.sha256(json.dumps(texts, ensure_ascii=False, sort_keys=True)
                             .encode()).hexdigest()[:16]
    return PosterSubject(id="", version=version, texts=texts)


def load_subject(*, tenant: TenantInfo, kind: str, subject_id: int | None) -> PosterSubject:
    """The poster's subject: the tenant itself for invites, else the owning domain's loader."""
    if kind == "invite":
        return _invite_subject(tenant)
    if subject_id is None:
        raise PosterSubjectRequired()
    loader = subject_loader(kind)
    if loader is None:
        raise PosterKindUnavailable()
    return loader(tenant_id=tenant.id, subject_id=subject_id)


class _QrSource:
    """Where the code comes from; `key` identifies its content without fetching it."""

    def __init__(self, tenant: TenantInfo, kind: str, subject: PosterSubject, scene: str) -> None:
        self.scene = scene
        self.page = subject.page or PAGES[kind]
        self.mini_program = credentials(tenant_id=tenant.id).mini_program
        if self.mini_program is not None:
            self.key = f"mp:{self.mini_program.appid}:{self.page}:{scene}"
        else:
            self.link = share_link(tenant=tenant, scene=scene)
            self.key = f"url:{self.link}"

    def payload(self) -> QrPayload:
        if self.mini_program is None:
            return QrText(self.link)
        png = gateway().mini_program(self.mini_program).get_unlimited_code(
            scene=self.scene, page=self.page, width=430, check_path=False)
        return QrImage(png)


def _member_version(member: MemberInfo) -> str:
    # created_at tells apart members that reuse an id after a database reset
    return f"{member.profile_version}.{member.created_at.timestamp():.0f}"


def render_poster(*, tenant_id: int, member_id: int, kind: str,
                  subject_id: int | None = None) -> RenderedPoster:
    """The member's poster of a kind (and subject) as PNG; from the cache when nothing changed."""
    _check_kind(kind)
    tenant = get_tenant(tenant_id=tenant_id)
    member = get_member(tenant_id=tenant_id, member_id=member_id)
    subject = load_subject(tenant=tenant, kind=kind, subject_id=subject_id)
    layout, template_version = effective_layout(tenant_id=tenant_id, kind=kind)
    scene = Scene(invite_code=member.invite_code, **subject.scene).encode()
    qr = _QrSource(tenant, kind, subject, scene)
    # the brand's name is on every kind of poster ({shop_name} by default)
    brand = hashlib.sha256(tenant.name.encode()).hexdigest()[:8]
    key = PosterKey(tenant_id=tenant_id, kind=kind, template=f"{template_version}.{brand}",
                    member_id=member.id, member_version=_member_version(member),
                    subject_id=subject.id, subject_version=subject.version, qr=qr.key)
    cache = _cache()
    hit = cache.get(key)
    if hit is not None:
        return RenderedPoster(png=hit, etag=key.digest(), cached=True)
    hosts = _image_hosts()
    data = PosterData(
        qr=qr.payload(), nickname=member.nickname,
        avatar=fetch.fetch_image(member.avatar_url, hosts=hosts),
        product_image=subject.picture or fetch.fetch_image(subject.picture_url, hosts=hosts),
        price_fen=subject.price_fen, original_price_fen=subject.original_price_fen,
        texts={**DEFAULT_TEXTS, "shop_name": tenant.name, **subject.texts,
               "invite_code": member.invite_code},
    )
    png = draw(layout, data)
    cache.put(key, png)
    return RenderedPoster(png=png, etag=key.digest(), cached=False)


def render_document(*, tenant_id: int, kind: str, texts: dict[str, str], qr_text: str, holder: str) -> bytes:
    """A poster that is a document rather than a share (an agent certificate): the
    tenant's layout of the kind, the texts given and a plain QR of `qr_text` (a
    verification link). Not cached: documents are rendered rarely and change status."""
    _check_kind(kind)
    tenant = get_tenant(tenant_id=tenant_id)
    layout, _ = effective_layout(tenant_id=tenant_id, kind=kind)
    return draw(layout, PosterData(qr=QrText(qr_text), nickname=holder,
                                   texts={"shop_name": tenant.name, **texts}))


def render_with_code(*, tenant_id: int, kind: str, holder: str, code_png: bytes) -> bytes:
    """A share poster whose code another domain drew and caches (a staff member's own
    code, SCRM: customers who scan it become theirs): the tenant's layout of the kind in
    force, the holder's name as the nickname, the code as given. Only kinds without a
    subject (invite). Not cached here: the code is the costly part and is cached by its
    owner; drawing the layout again follows a template edit at once."""
    _check_kind(kind)
    if kind != "invite":
        raise PosterKindUnavailable()
    tenant = get_tenant(tenant_id=tenant_id)
    layout, _ = effective_layout(tenant_id=tenant_id, kind=kind)
    return draw(layout, PosterData(qr=QrImage(code_png), nickname=holder,
                                   texts={**_invite_subject(tenant).texts}))


def preview_template(*, tenant_id: int, kind: str, layout: str | dict[str, Any]) -> bytes:
    """Render a layout with sample data before saving it (validates like create)."""
    _check_kind(kind)
    _, parsed = _parse(layout)
    tenant = get_tenant(tenant_id=tenant_id)
    data = PosterData(
        qr=QrText(share_link(tenant=tenant, scene="i=PREVIEW")), nickname=SAMPLE_NICKNAME,
        price_fen=9900, original_price_fen=12900,
        texts={**DEFAULT_TEXTS, "shop_name": tenant.name, "invite_code": "PREVIEW",
               "title": "示例商品标题", "intro": "示例小店介绍", "start_time": "今晚 20:00",
               **SAMPLE_CERTIFICATE},
    )
    return draw(parsed, data)


def prune_cache(*, now: datetime, unused_days: int = 30) -> int:
    """Delete cached posters nobody opened for `unused_days`; returns how many (for a job)."""
    return _cache().prune(unused_since=now.timestamp() - unused_days * 86400)
