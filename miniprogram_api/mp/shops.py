"""Mini-shops: a promoter opens and arranges a shop; visitors open it."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response
from pydantic import Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.shops import service as shops
from miniprogram_api.http import Body, route
from miniprogram_api.schemas.shops import MyShopOut, ShopEntryOut, ShopPageOut

bp = Blueprint("shops", __name__, url_prefix="/api/v1")



class OpenShopIn(Body):
    name: str = Field(min_length=1, max_length=30)
    intro: str = Field("", max_length=200)
    banner_url: str = Field("", max_length=512, description="https URL of the banner picture")
    video_url: str = Field("", max_length=512, description="https URL of the intro video")


class ShopPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=30)
    intro: str | None = Field(None, max_length=200)
    banner_url: str | None = Field(None, max_length=512)
    video_url: str | None = Field(None, max_length=512)
    status: Literal["open", "closed"] | None = None


class ProductListIn(Body):
    product_ids: list[int] = Field(max_length=shops.MAX_PRODUCTS,
                                   description="the whole list, in display order")


class ProductAddIn(Body):
    product_ids: list[int] = Field(min_length=1, max_length=shops.MAX_PRODUCTS)


class MoveIn(Body):
    position: int = Field(ge=0, le=10_000)


class EnterIn(Body):
    scene: str = Field(min_length=1, max_length=64, description="the code's scene, h=<shop>&i=<code>")


def _items(principal: Principal) -> dict[str, Any]:
    return shops.owner_view(tenant_id=principal.tenant_id, member_id=principal.subject_id)


@route(bp, "/mp/my-shop", method="POST", auth="member", body=OpenShopIn, status=201, response=MyShopOut,
       errors=("invalid_shop_field", "shop_already_open"))
def open_shop(principal: Principal, body: OpenShopIn) -> dict[str, Any]:
    """Open my shop (active promoters; one shop each)."""
    shops.open_shop(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                    name=body.name, intro=body.intro, banner_url=body.banner_url,
                    video_url=body.video_url, now=utcnow())
    return _items(principal)


@route(bp, "/mp/my-shop", auth="member", response=MyShopOut, errors=("shop_not_found",))
def my_shop(principal: Principal) -> dict[str, Any]:
    """My shop with every product I picked (on sale or not) and its numbers."""
    return _items(principal)


@route(bp, "/mp/my-shop", method="PATCH", auth="member", body=ShopPatch, response=MyShopOut,
       errors=("shop_not_found", "shop_suspended"))
def update_shop(principal: Principal, body: ShopPatch) -> dict[str, Any]:
    """Edit name, intro, banner, video; close or reopen the shop."""
    shops.update_shop(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                      now=utcnow(), **body.model_dump(exclude_unset=True))
    return _items(principal)


@route(bp, "/mp/my-shop/products", method="PUT", auth="member", body=ProductListIn, response=MyShopOut,
       errors=("invalid_shop_field", "product_unavailable", "shop_not_found", "shop_product_restricted"))
def set_products(principal: Principal, body: ProductListIn) -> dict[str, Any]:
    """Replace my shop's product list (picks, removals and order in one call)."""
    shops.set_products(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                       product_ids=body.product_ids, now=utcnow())
    return _items(principal)


@route(bp, "/mp/my-shop/products", method="POST", auth="member", body=ProductAddIn, response=MyShopOut,
       errors=("invalid_shop_field", "product_unavailable"))
def add_products(principal: Principal, body: ProductAddIn) -> dict[str, Any]:
    """Add products to the end of my shop."""
    shops.add_products(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                       product_ids=body.product_ids, now=utcnow())
    return _items(principal)


@route(bp, "/mp/my-shop/products/<int:product_id>", method="DELETE", auth="member", response=MyShopOut,
       errors=("product_not_in_shop", "shop_not_found"))
def remove_product(principal: Principal, product_id: int) -> dict[str, Any]:
    """Take a product out of my shop."""
    shops.remove_product(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                         product_id=product_id, now=utcnow())
    return _items(principal)


@route(bp, "/mp/my-shop/products/<int:product_id>/position", method="PUT", auth="member", body=MoveIn,
       response=MyShopOut, errors=("product_not_in_shop", "shop_not_found"))
def move_product(principal: Principal, body: MoveIn, product_id: int) -> dict[str, Any]:
    """Move a product to a position in my shop (0 = first)."""
    shops.move_product(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                       product_id=product_id, position=body.position, now=utcnow())
    return _items(principal)


@route(bp, "/mp/my-shop/qr", auth="member", raw=True, content="image/png", errors=("shop_not_found", "shop_unavailable"))
def shop_qr(principal: Principal) -> Response:
    """My shop's code (PNG): scanning it opens the shop and binds the visitor to me."""
    png = shops.shop_qr(tenant_id=principal.tenant_id, member_id=principal.subject_id)
    response = Response(png, mimetype="image/png")
    response.cache_control.private = True
    response.cache_control.max_age = 300
    return response


@route(bp, "/mp/shops/<int:shop_id>", auth="member", response=ShopPageOut,
       errors=("shop_not_found", "shop_unavailable"))
def shop_page(principal: Principal, shop_id: int) -> dict[str, Any]:
    """A shop as visitors see it: banner, video, owner and on-sale products in order."""
    return shops.shop_page(tenant_id=principal.tenant_id, shop_id=shop_id)


@route(bp, "/mp/shops/enter", method="POST", auth="member", body=EnterIn, response=ShopEntryOut,
       errors=("invalid_scene", "shop_not_found"))
def enter_shop(principal: Principal, body: EnterIn) -> ShopEntryOut:
    """Arrive through a shop's code or share: bound per the brand's policy, then the page."""
    entry = shops.enter_shop(tenant_id=principal.tenant_id, member_id=principal.subject_id,
                             scene=body.scene, now=utcnow())
    return ShopEntryOut(bind_status=entry.bind_status, parent_id=entry.parent_id,
                        **shops.shop_page(tenant_id=principal.tenant_id, shop_id=entry.shop_id))

