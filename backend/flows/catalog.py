"""The operator's catalog verbs where catalog meets rewards: agent level keys (in level
prices and sale permissions) must be levels of the tenant's active reward plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from backend.catalog import service as catalog
from backend.rewards import service as rewards


def create_product(*, tenant_id: int, name: str, skus: Sequence[catalog.SkuSpec], actor: str, subtitle: str = "",
                   description: str = "", image_url: str = "", allowed_levels: Sequence[str] | None = None,
                   on_shelf: bool = False, category: str = "", grants_level: str | None = None) -> catalog.Product:
    """Create a product with at least one SKU (audited)."""
    return catalog.create_product(tenant_id=tenant_id, name=name, skus=skus, actor=actor, subtitle=subtitle,
                                  description=description, image_url=image_url, allowed_levels=allowed_levels,
                                  on_shelf=on_shelf, category=category, grants_level=grants_level,
                                  known_levels=rewards.agent_level_keys(tenant_id=tenant_id))


def update_product(*, tenant_id: int, product_id: int, changes: Mapping[str, Any], actor: str) -> catalog.Product:
    """Change a product's texts, picture, sale permission or shelf state (audited)."""
    return catalog.update_product(tenant_id=tenant_id, product_id=product_id, changes=changes, actor=actor,
                                  known_levels=rewards.agent_level_keys(tenant_id=tenant_id))


def add_sku(*, tenant_id: int, product_id: int, spec: catalog.SkuSpec, actor: str) -> catalog.Sku:
    """Add a SKU to a product (audited)."""
    return catalog.add_sku(tenant_id=tenant_id, product_id=product_id, spec=spec, actor=actor,
                           known_levels=rewards.agent_level_keys(tenant_id=tenant_id))


def update_sku(*, tenant_id: int, sku_id: int, changes: Mapping[str, Any], actor: str) -> catalog.Sku:
    """Change a SKU's name, prices or availability (audited)."""
    return catalog.update_sku(tenant_id=tenant_id, sku_id=sku_id, changes=changes, actor=actor,
                              known_levels=rewards.agent_level_keys(tenant_id=tenant_id))
