"""Builders for the shop and SCRM tests: a stand-in catalog and ready-made shops."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backend.db import unit_of_work, utcnow
from backend.shops.products import ProductCard


class StandInCatalog:
    """Products per tenant, shaped like the catalog domain's answer to the shop's lookup."""

    def __init__(self) -> None:
        self.rows: dict[tuple[int, int], ProductCard] = {}
        self._next = 1000

    def add(self, tenant: Any, title: str = "云南普洱茶", price_fen: int = 12900,
            on_sale: bool = True, original_price_fen: int | None = None) -> int:
        self._next += 1
        self.rows[(tenant.id, self._next)] = ProductCard(
            id=self._next, title=title, price_fen=price_fen,
            original_price_fen=original_price_fen,
            picture_url=f"https://mmbiz.qpic.cn/p/{self._next}.jpg", on_sale=on_sale)
        return self._next

    def take_off_shelf(self, tenant: Any, product_id: int) -> None:
        card = self.rows[(tenant.id, product_id)]
        self.rows[(tenant.id, product_id)] = ProductCard(**{**card.__dict__, "on_sale": False})

    def lookup(self, *, tenant_id: int, product_ids: Iterable[int]) -> dict[int, ProductCard]:
        return {pid: self.rows[(tenant_id, pid)] for pid in product_ids
                if (tenant_id, pid) in self.rows}


def open_shop(tenant: Any, owner: Any, product_ids: Iterable[int] = (), name: str = "小美的好物店",
              **fields: Any) -> Any:
    from backend.shops import service as shops

    now = utcnow()
    with unit_of_work():
        shop = shops.open_shop(tenant_id=tenant.id, member_id=owner.id, name=name, now=now,
                               **fields)
        if product_ids:
            shops.set_products(tenant_id=tenant.id, member_id=owner.id,
                               product_ids=list(product_ids), now=now)
    return shop
