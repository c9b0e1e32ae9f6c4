"""The shop's one window onto the catalog: product cards by id.

The catalog domain owns products; shops only keep ids and positions. Everything a
shop needs of a product goes through `lookup_products`, so wiring to the catalog
(or a stand-in in tests) is one function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from backend.catalog import service as catalog


@dataclass(frozen=True)
class ProductCard:
    id: int
    title: str
    price_fen: int
    original_price_fen: int | None
    picture_url: str | None
    on_sale: bool  # on the shelf and sellable now
    # 销售权限: False when only some agent levels may buy it (an agent-only product)
    for_everyone: bool = True


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
    """Cards from the catalog domain: the price shown is the lowest enabled SKU's retail
    price; a product is on sale when it is on the shelf with at least one enabled SKU."""
    products = catalog.products_by_ids(tenant_id=tenant_id, product_ids=product_ids)
    skus = catalog.skus_of(tenant_id=tenant_id, product_ids=[p.id for p in products])
    out: dict[int, ProductCard] = {}
    for p in products:
        enabled = [s for s in skus.get(p.id, []) if s.enabled]
        prices = [s.price_fen for s in enabled]
        out[p.id] = ProductCard(id=p.id, title=p.name, price_fen=min(prices) if prices else 0,
                                original_price_fen=None, picture_url=p.image_url or None,
                                on_sale=bool(p.on_shelf and enabled),
                                for_everyone=p.allowed_levels is None)
    return out
