"""Mini-shops in the back-office: operators oversee the brand's shops."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint
from pydantic import Field

from backend.auth.tokens import Principal
from backend.db import utcnow
from backend.shops import service as shops
from backend.shops.types import ShopStatus
from miniprogram_api.http import Body, Page, Query, page_of, route
from miniprogram_api.schemas.shops import ShopAdminOut, ShopOut

bp = Blueprint("admin_shops", __name__, url_prefix="/api/v1")





class ShopPage(Query):
    after_id: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=200)
    status: ShopStatus | None = None


class ShopStatusIn(Body):
    status: Literal["open", "suspended"]


@route(bp, "/admin/shops", auth="staff", query=ShopPage, response=Page[ShopAdminOut])
def list_shops(principal: Principal, query: ShopPage) -> dict[str, Any]:
    """The brand's shops with visitors, bound visitors, orders and sales."""
    rows = shops.list_shops(tenant_id=principal.tenant_id, after_id=query.after_id,
                            limit=query.limit, status=query.status)
    stats = shops.shop_stats(tenant_id=principal.tenant_id, shop_ids=[s.id for s in rows])
    return page_of(rows, lambda s: ShopAdminOut(**shops.shop_view(s), stats=stats[s.id]), query.limit)


@route(bp, "/admin/shops/<int:shop_id>/status", method="PUT", auth="staff", body=ShopStatusIn,
       response=ShopOut, errors=("shop_not_found",))
def set_shop_status(principal: Principal, body: ShopStatusIn, shop_id: int) -> dict[str, Any]:
    """Suspend a shop or lift the suspension (audited)."""
    shop = shops.set_shop_status(tenant_id=principal.tenant_id, shop_id=shop_id,
                                 status=body.status, actor=principal.actor, now=utcnow())
    return shops.shop_view(shop)

