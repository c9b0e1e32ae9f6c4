"""The material library for promoters (素材库) across marketing, members, posters and orders.

    for_promoter / take   the library with each copy's {link}, {invite_code} and
                          {nickname} filled in with the promoter's own share link (its
                          scene carries the material, m=<id>); a download or share counted;
    poster                the promoter's poster for a material: its product's poster, or
                          the invite poster, with the promoter's code;
    a member bound        through a link carrying a material: counted for that material;
    brand_stats           per material: downloads, shares, the members its links bound
                          and the orders those members paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.catalog import service as catalog
from backend.errors import DomainError
from backend.events import listen
from backend.marketing import materials
from backend.members import service as members
from backend.members.scene import Scene, parse_scene
from backend.members.types import Bound
from backend.orders import service as orders
from backend.posters import service as posters
from backend.posters.service import RenderedPoster
from backend.tenants.service import get_tenant


def _fill(m: Any, tenant: Any, member: Any) -> dict[str, Any]:
    scene = Scene(invite_code=member.invite_code, product_id=m.product_id, material_id=m.id).encode()
    link = posters.share_link(tenant=tenant, scene=scene)
    out = materials.material_view(m)
    out.update(body=m.body.replace("{link}", link).replace("{invite_code}", member.invite_code)
               .replace("{nickname}", member.nickname or ""), share_link=link, scene=scene)
    return out


def for_promoter(*, tenant_id: int, member_id: int, category: str | None = None, product_id: int | None = None,
                 kind: str | None = None, before_id: int | None = None, limit: int = 20) -> dict[str, Any]:
    """One page of the library as this promoter shares it."""
    tenant = get_tenant(tenant_id=tenant_id)
    member = members.get_member(tenant_id=tenant_id, member_id=member_id)
    rows = materials.list_materials(tenant_id=tenant_id, category=category, product_id=product_id, kind=kind,
                                    before_id=before_id, limit=limit)
    return {"items": [_fill(m, tenant, member) for m in rows],
            "next_cursor": rows[-1].id if len(rows) == limit and rows else None}


def take(*, tenant_id: int, member_id: int, material_id: int, action: str, now: datetime) -> dict[str, Any]:
    """The promoter downloads or shares a material: counted, and returned filled in."""
    m = materials.get_material(tenant_id=tenant_id, material_id=material_id, active_only=True)
    materials.record_event(tenant_id=tenant_id, material_id=m.id, member_id=member_id, kind=action, now=now)
    return _fill(m, get_tenant(tenant_id=tenant_id), members.get_member(tenant_id=tenant_id, member_id=member_id))


def poster(*, tenant_id: int, member_id: int, material_id: int, now: datetime) -> RenderedPoster:
    """The promoter's poster for a material (counted as a download)."""
    m = materials.get_material(tenant_id=tenant_id, material_id=material_id, active_only=True)
    materials.record_event(tenant_id=tenant_id, material_id=m.id, member_id=member_id, kind="download", now=now)
    if m.product_id is not None:
        return posters.render_poster(tenant_id=tenant_id, member_id=member_id, kind="product", subject_id=m.product_id)
    return posters.render_poster(tenant_id=tenant_id, member_id=member_id, kind="invite")


@listen("members_bound")
def bound_through_material(*, tenant_id: int, bindings: Sequence[Bound], now: datetime) -> None:
    """Members bound through a link carrying a material (m= in its scene): counted for
    that material, once per member; a batch in one read and one INSERT."""
    bound = []
    for b in bindings:
        try:
            material_id = parse_scene(b.scene).material_id if b.scene else None
        except DomainError:
            continue
        if material_id is not None:
            bound.append((material_id, b.member_id))
    materials.record_bindings(tenant_id=tenant_id, bound=bound, now=now)


def brand_stats(*, tenant_id: int, before_id: int | None = None, limit: int = 50) -> dict[str, Any]:
    """Every material (hidden ones too) with its downloads, shares, bindings and the
    orders the members it bound have paid."""
    rows = materials.list_materials(tenant_id=tenant_id, active_only=False, before_id=before_id, limit=limit)
    ids = [m.id for m in rows]
    counts = materials.event_counts(tenant_id=tenant_id, material_ids=ids)
    bound = materials.members_bound(tenant_id=tenant_id, material_ids=ids)
    items = []
    for m in rows:
        n, fen = orders.members_paid_totals(tenant_id=tenant_id, member_ids=bound[m.id])
        items.append({**materials.material_view(m), **counts[m.id], "orders": n, "gmv_fen": fen})
    return {"items": items, "next_cursor": rows[-1].id if len(rows) == limit and rows else None}


def create(*, tenant_id: int, kind: str, title: str, body: str, media_urls: list[str], category: str,
           product_id: int | None, actor: str) -> Any:
    """Publish a material; its product, if any, must be the tenant's."""
    if product_id is not None:
        catalog.get_product(tenant_id=tenant_id, product_id=product_id)
    return materials.create_material(tenant_id=tenant_id, kind=kind, title=title, body=body, media_urls=media_urls,
                                     category=category, product_id=product_id, actor=actor)
