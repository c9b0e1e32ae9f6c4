"""Mini-shops and share posters as the API shows them."""

from __future__ import annotations

from typing import Any

from miniprogram_api.http import Out, Timestamp


class ShopPublicOut(Out):
    id: int
    name: str
    intro: str
    banner_url: str
    video_url: str
    updated_at: Timestamp


class ShopOut(ShopPublicOut):
    status: str
    owner_member_id: int


class ShopStats(Out):
    visitors: int
    bound_visitors: int
    orders: int
    sales_fen: int


class ShopAdminOut(ShopOut):
    stats: ShopStats


class ProductCardOut(Out):
    id: int
    title: str
    price_fen: int | None
    original_price_fen: int | None
    picture_url: str | None


class OwnerProductOut(ProductCardOut):
    on_sale: bool


class MyShopOut(Out):
    shop: ShopOut
    products: list[OwnerProductOut]
    stats: ShopStats


class ShopOwner(Out):
    nickname: str
    avatar_url: str


class ShopPageOut(Out):
    shop: ShopPublicOut
    owner: ShopOwner
    products: list[ProductCardOut]


class ShopEntryOut(ShopPageOut):
    bind_status: str
    parent_id: int | None


class PosterTemplateOut(Out):
    id: int
    kind: str
    name: str
    version: int
    active: bool
    layout: dict[str, Any]
    updated_at: Timestamp


class DefaultLayoutOut(Out):
    kind: str
    layout: dict[str, Any]
