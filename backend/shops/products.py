"""The shop's one window onto the catalog: product cards by id.

The catalog domain owns products; shops only keep ids and positions. Everything a
shop needs of a product goes through `lookup_products`, so wiring to the catalog
(or a stand-in in tests) is one function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProductCard:
    id: int
    title: str
    price_fen: int
    original_price_fen: int | None
    picture_url: str | None
    on_sale: bool  # on the shelf and sellable now


ProductLookup = Callable[..., dict[int, ProductCard]]

# A lookup set by hand (tests, or a tenant-specific catalog); wins over the catalog domain.
_OVERRIDE: list[ProductLookup] = []


def use_product_lookup(lookup: ProductLookup | None) -> None:
    """Replace the catalog lookup (None restores the catalog domain's)."""
    _OVERRIDE.clear()
    if lookup is not None:
        _OVERRIDE.append(lookup)


def lookup_products(*, tenant_id: int, product_ids: Iterable[int]) -> dict[int, ProductCard]:
    """Cards of the tenant's products among `product_ids`; unknown or foreign ids are absent."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    if _OVERRIDE:
        return _OVERRIDE[0](tenant_id=tenant_id, product_ids=ids)
    return _from_catalog(tenant_id=tenant_id, product_ids=ids)


def _from_catalog(*, tenant_id: int, product_ids: list[int]) -> dict[int, ProductCard]:
    try:
        from backend.catalog import service as catalog
    except ModuleNotFoundError as exc:
        if exc.name not in ("backend.catalog", "backend.catalog.service"):
            raise
        return {}
    rows: Any = catalog.get_products(tenant_id=tenant_id, product_ids=product_ids)
    return {p.id: _card(p) for p in rows}


def _card(p: Any) -> ProductCard:
    return ProductCard(id=p.id, title=p.title, price_fen=p.price_fen,
                       original_price_fen=getattr(p, "original_price_fen", None),
                       picture_url=getattr(p, "picture_url", None) or None,
                       on_sale=getattr(p, "status", "on") in ("on", "on_sale", "active"))
