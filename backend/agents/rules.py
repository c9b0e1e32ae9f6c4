"""What an authorization covers: products (by id or by category) and regions.

Pure: no Flask, SQLAlchemy or clock. The service reads the rows and the products'
categories, these functions decide.

Scope of products: `product_ids` and `categories` are each null (no list) or a list.
Both null: every product. Otherwise a product is covered when its id is listed or its
category is listed (the union), so "all of 茶叶 plus product 7" is one authorization.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def covers_everything(product_ids: Sequence[int] | None, categories: Sequence[str] | None) -> bool:
    """Whether the authorization lists no products and no categories (every product)."""
    return product_ids is None and categories is None


def outside_products(product_ids: Sequence[int] | None, categories: Sequence[str] | None,
                     wanted: Iterable[int], category_of: Mapping[int, str]) -> list[int]:
    """The wanted products the scope does not cover, sorted (empty: all covered).
    `category_of` gives each wanted product's category ("" when it has none)."""
    if covers_everything(product_ids, categories):
        return []
    ids = set(product_ids or ())
    cats = set(categories or ())
    return sorted({p for p in wanted if p not in ids and (category_of.get(p) or "\0") not in cats})


# Longest first: "广西壮族自治区" loses "壮族自治区", not just "区".
_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")


def short_place(name: str | None) -> str:
    """A province or city name without its administrative suffix ("浙江省" → "浙江",
    "广西壮族自治区" → "广西", "杭州市" → "杭州"), so "浙江" and "浙江省" are one place."""
    name = (name or "").strip()
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def region_matches(regions: Sequence[Mapping[str, Any]] | None, province: str | None, city: str | None) -> bool:
    """Whether (province, city) falls in the regions (None = nationwide); names compare
    without their suffixes (a coarse location may say "浙江", an authorization "浙江省")."""
    if regions is None:
        return True
    if not province:
        return False
    p, c = short_place(province), short_place(city)
    return any(short_place(r.get("province")) == p and (not r.get("city") or short_place(r.get("city")) == c)
               for r in regions)


def scope_text(product_ids: Sequence[int] | None, categories: Sequence[str] | None,
               product_names: Sequence[str], *, more: bool = False) -> str:
    """The products an authorization covers as a certificate prints them: the
    categories first ("茶叶类"), then the named products; "全部商品" for everything."""
    if covers_everything(product_ids, categories):
        return "全部商品"
    parts = [f"{c}类" for c in (categories or ())] + list(product_names)
    return "、".join(parts) + ("等" if more else "") if parts else "无"
