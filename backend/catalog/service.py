"""Catalog verbs: products and SKUs for operators, browsing and pricing for buyers,
and the stock reservation the orders domain calls.

Keyword-only functions that never commit. Stock moves only through conditional
UPDATEs (no read-then-write), in ascending SKU id order so multi-SKU orders never
deadlock each other.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, select, update

from backend.audit.service import record_audit
from backend.catalog import cache
from backend.catalog.errors import (
    InvalidCatalogInput,
    OutOfStock,
    ProductNotFound,
    ProductNotPermitted,
    ProductOffShelf,
    SkuNotFound,
    StockWouldGoNegative,
)
from backend.catalog.models import Product, Sku
from backend.db import rowcount
from backend.extensions import db
from backend.money import apply_rate, yuan

MAX_PRICE_FEN = 100_000_000  # 1,000,000 yuan per piece
MAX_STOCK = 10_000_000


@dataclass(frozen=True)
class SkuSpec:
    """A SKU as an operator describes it (amounts in fen, per piece)."""

    name: str
    price_fen: int
    cost_fen: int = 0
    stock: int = 0
    level_prices: Mapping[str, int] | None = None
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class SkuFacts:
    """What pricing and an order line need of a SKU (read, not the ORM row)."""

    id: int
    product_id: int
    name: str
    price_fen: int
    cost_fen: int
    level_prices: Mapping[str, int] | None
    enabled: bool


@dataclass(frozen=True, slots=True)
class ProductFacts:
    """What pricing and an order line need of a SKU's product (read, not the ORM row)."""

    id: int
    name: str
    image_url: str
    on_shelf: bool
    allowed_levels: Sequence[str] | None


# SKU id -> the SKU and its product, as sku_rows reads them.
SkuRows = Mapping[int, tuple[SkuFacts, ProductFacts]]


class _Prices(Protocol):
    @property
    def price_fen(self) -> int: ...
    @property
    def level_prices(self) -> Any: ...


class _Permitted(Protocol):
    @property
    def allowed_levels(self) -> Any: ...


@dataclass(frozen=True)
class PricedSku:
    """A SKU priced for one buyer: what orders.create_order reserves and charges."""

    sku: SkuFacts
    product: ProductFacts
    unit_price_fen: int


# ------------------------------------------------------------------ validation


def _is_fen(value: Any, *, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= MAX_PRICE_FEN


def _check_levels(known: Collection[str] | None, keys: Iterable[str], field_name: str) -> list[dict[str, str]]:
    errors = []
    for key in keys:
        if not isinstance(key, str) or not 1 <= len(key) <= 32:
            errors.append({"field": field_name, "message": "代理等级须为 1–32 个字符"})
        elif known is not None and key not in known:
            errors.append({"field": field_name, "message": f"方案中没有代理等级：{key}"})
    return errors


def _sku_errors(known: Collection[str] | None, spec: SkuSpec, prefix: str) -> list[dict[str, str]]:
    errors = []
    if not isinstance(spec.name, str) or not 1 <= len(spec.name.strip()) <= 100:
        errors.append({"field": f"{prefix}name", "message": "规格名称须为 1–100 个字符"})
    if not _is_fen(spec.price_fen, minimum=1):
        errors.append({"field": f"{prefix}price_fen", "message": "售价须为正整数（分）"})
    if not _is_fen(spec.cost_fen, minimum=0):
        errors.append({"field": f"{prefix}cost_fen", "message": "成本价须为非负整数（分）"})
    if not (isinstance(spec.stock, int) and not isinstance(spec.stock, bool) and 0 <= spec.stock <= MAX_STOCK):
        errors.append({"field": f"{prefix}stock", "message": "库存须为非负整数"})
    for key, fen in (spec.level_prices or {}).items():
        if not _is_fen(fen, minimum=1):
            errors.append({"field": f"{prefix}level_prices.{key}", "message": "等级价须为正整数（分）"})
    errors += _check_levels(known, (spec.level_prices or {}).keys(), f"{prefix}level_prices")
    return errors


def _raise(errors: list[dict[str, str]]) -> None:
    if errors:
        raise InvalidCatalogInput(details=errors)


def check_sku(*, tenant_id: int, spec: SkuSpec, known_levels: Collection[str] | None = None) -> None:
    """Refuse (InvalidCatalogInput) a SKU description that create/update would refuse
    (level prices are checked against known_levels when given)."""
    _raise(_sku_errors(known_levels, spec, ""))


# ------------------------------------------------------------------ operator verbs


def create_product(*, tenant_id: int, name: str, skus: Sequence[SkuSpec], actor: str, subtitle: str = "",
                   description: str = "", image_url: str = "", allowed_levels: Sequence[str] | None = None,
                   on_shelf: bool = False, category: str = "", known_levels: Collection[str] | None,
                   grants_level: str | None = None) -> Product:
    """Create a product with at least one SKU (audited). known_levels: the agent level
    keys of the tenant's active reward plan (None: it has none, any key goes); the
    catalog flow (backend/flows/catalog.py) reads them."""
    errors = []
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        errors.append({"field": "name", "message": "商品名称须为 1–100 个字符"})
    if not skus:
        errors.append({"field": "skus", "message": "至少需要一个规格"})
    for i, spec in enumerate(skus):
        errors += _sku_errors(known_levels, spec, f"skus[{i}].")
    if allowed_levels is not None:
        errors += _check_levels(known_levels, allowed_levels, "allowed_levels")
    if grants_level is not None:
        errors += _check_levels(known_levels, [grants_level], "grants_level")
    _raise(errors)
    product = Product(tenant_id=tenant_id, name=name.strip(), subtitle=subtitle, description=description,
                      image_url=image_url, on_shelf=on_shelf, category=category.strip()[:40],
                      allowed_levels=sorted(set(allowed_levels)) if allowed_levels is not None else None,
                      grants_level=grants_level)
    db.session.add(product)
    db.session.flush()
    for spec in skus:
        db.session.add(_sku_row(tenant_id, product.id, spec))
    db.session.flush()
    cache.bump(tenant_id=tenant_id)
    record_audit(tenant_id=tenant_id, actor=actor, action="catalog.product_create", target_type="product",
                 target_id=product.id, before=None,
                 after={"name": product.name, "skus": [s.name for s in skus], "on_shelf": on_shelf})
    return product


def _sku_row(tenant_id: int, product_id: int, spec: SkuSpec) -> Sku:
    return Sku(tenant_id=tenant_id, product_id=product_id, name=spec.name.strip(), price_fen=spec.price_fen,
               cost_fen=spec.cost_fen, stock=spec.stock, level_prices=dict(spec.level_prices or {}) or None,
               enabled=spec.enabled)


_PRODUCT_FIELDS = ("name", "subtitle", "description", "image_url", "allowed_levels", "on_shelf", "category",
                   "grants_level")
_NULLABLE_FIELDS = ("allowed_levels", "grants_level")


def update_product(*, tenant_id: int, product_id: int, changes: Mapping[str, Any], actor: str,
                   known_levels: Collection[str] | None) -> Product:
    """Change a product's texts, picture, sale permission or shelf state (audited)."""
    product = get_product(tenant_id=tenant_id, product_id=product_id)
    errors = [{"field": k, "message": "不能为空"} for k, v in changes.items()
              if v is None and k in _PRODUCT_FIELDS and k not in _NULLABLE_FIELDS]
    name = changes.get("name")
    if name is not None and (not isinstance(name, str) or not 1 <= len(name.strip()) <= 100):
        errors.append({"field": "name", "message": "商品名称须为 1–100 个字符"})
    if changes.get("allowed_levels") is not None:
        errors += _check_levels(known_levels, changes["allowed_levels"], "allowed_levels")
    if changes.get("grants_level") is not None:
        errors += _check_levels(known_levels, [changes["grants_level"]], "grants_level")
    _raise(errors)
    before = {f: getattr(product, f) for f in _PRODUCT_FIELDS if f in changes}
    for key, value in changes.items():
        if key == "allowed_levels":
            value = sorted(set(value)) if value is not None else None
        if key in _PRODUCT_FIELDS:
            setattr(product, key, value)
    db.session.flush()
    cache.bump(tenant_id=tenant_id)
    record_audit(tenant_id=tenant_id, actor=actor, action="catalog.product_update", target_type="product",
                 target_id=product.id, before=before,
                 after={f: getattr(product, f) for f in _PRODUCT_FIELDS if f in changes})
    return product


def add_sku(*, tenant_id: int, product_id: int, spec: SkuSpec, actor: str,
            known_levels: Collection[str] | None) -> Sku:
    """Add a SKU to a product (audited)."""
    product = get_product(tenant_id=tenant_id, product_id=product_id)
    _raise(_sku_errors(known_levels, spec, ""))
    sku = _sku_row(tenant_id, product.id, spec)
    db.session.add(sku)
    db.session.flush()
    cache.bump(tenant_id=tenant_id)
    record_audit(tenant_id=tenant_id, actor=actor, action="catalog.sku_create", target_type="sku",
                 target_id=sku.id, before=None, after=sku_admin_view(sku))
    return sku


_SKU_FIELDS = ("name", "price_fen", "cost_fen", "level_prices", "enabled")


def update_sku(*, tenant_id: int, sku_id: int, changes: Mapping[str, Any], actor: str,
               known_levels: Collection[str] | None) -> Sku:
    """Change a SKU's name, price, cost price, level prices or availability (audited).
    Stock changes go through adjust_stock."""
    sku = get_sku(tenant_id=tenant_id, sku_id=sku_id)
    _raise([{"field": k, "message": "不能为空"} for k, v in changes.items()
            if v is None and k in _SKU_FIELDS and k != "level_prices"])
    merged = SkuSpec(name=changes.get("name", sku.name), price_fen=changes.get("price_fen", sku.price_fen),
                     cost_fen=changes.get("cost_fen", sku.cost_fen), stock=0,
                     level_prices=changes["level_prices"] if "level_prices" in changes else sku.level_prices)
    _raise(_sku_errors(known_levels, merged, ""))
    before = sku_admin_view(sku)
    for key, value in changes.items():
        if key == "level_prices":
            value = dict(value or {}) or None
        if key in _SKU_FIELDS:
            setattr(sku, key, value)
    db.session.flush()
    cache.bump(tenant_id=tenant_id)
    record_audit(tenant_id=tenant_id, actor=actor, action="catalog.sku_update", target_type="sku",
                 target_id=sku.id, before=before, after=sku_admin_view(sku))
    return sku


def adjust_stock(*, tenant_id: int, sku_id: int, delta: int, actor: str) -> Sku:
    """Add (restock) or remove pieces of stock atomically; never below zero (audited)."""
    sku = get_sku(tenant_id=tenant_id, sku_id=sku_id)
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0 or abs(delta) > MAX_STOCK:
        raise InvalidCatalogInput(details=[{"field": "delta", "message": "库存变动须为非零整数"}])
    result = db.session.execute(
        update(Sku).where(Sku.tenant_id == tenant_id, Sku.id == sku_id, Sku.stock + delta >= 0,
                          Sku.stock + delta <= MAX_STOCK)
        .values(stock=Sku.stock + delta).execution_options(synchronize_session=False))
    if rowcount(result) != 1:
        raise StockWouldGoNegative(details={"sku_id": sku_id, "delta": delta})
    db.session.refresh(sku)
    cache.bump(tenant_id=tenant_id)
    record_audit(tenant_id=tenant_id, actor=actor, action="catalog.stock_adjust", target_type="sku",
                 target_id=sku.id, before=None, after={"delta": delta, "stock": sku.stock})
    return sku


# ------------------------------------------------------------------ reads


def get_product(*, tenant_id: int, product_id: int) -> Product:
    """One product of this tenant, or ProductNotFound."""
    product = db.session.scalar(select(Product).where(Product.tenant_id == tenant_id, Product.id == product_id))
    if product is None:
        raise ProductNotFound()
    return product


def get_sku(*, tenant_id: int, sku_id: int) -> Sku:
    """One SKU of this tenant, or SkuNotFound."""
    sku = db.session.scalar(select(Sku).where(Sku.tenant_id == tenant_id, Sku.id == sku_id))
    if sku is None:
        raise SkuNotFound()
    return sku


def get_skus(*, tenant_id: int, sku_ids: Collection[int]) -> dict[int, Sku]:
    """These SKUs of this tenant by id, in one read; SkuNotFound when one is not."""
    wanted = sorted(set(sku_ids))
    skus = {s.id: s for s in db.session.scalars(select(Sku).where(Sku.tenant_id == tenant_id,
                                                                  Sku.id.in_(wanted)))} if wanted else {}
    if len(skus) != len(wanted):
        raise SkuNotFound()
    return skus


def list_products(*, tenant_id: int, after_id: int = 0, limit: int = 50, on_shelf: bool | None = None,
                  q: str | None = None) -> list[Product]:
    """Products of a tenant in id order, keyset-paged, optionally by shelf state or name."""
    stmt = select(Product).where(Product.tenant_id == tenant_id, Product.id > after_id)
    if on_shelf is not None:
        stmt = stmt.where(Product.on_shelf == on_shelf)
    if q:
        stmt = stmt.where(Product.name.contains(q, autoescape=True))
    return list(db.session.scalars(stmt.order_by(Product.id).limit(limit)))


def products_by_ids(*, tenant_id: int, product_ids: Sequence[int]) -> list[Product]:
    """This tenant's products among the ids (unknown and foreign ids are left out)."""
    if not product_ids:
        return []
    return list(db.session.scalars(select(Product).where(
        Product.tenant_id == tenant_id, Product.id.in_(sorted(set(product_ids)))).order_by(Product.id)))


def skus_of(*, tenant_id: int, product_ids: Sequence[int]) -> dict[int, list[Sku]]:
    """The SKUs of these products, per product id, in id order."""
    out: dict[int, list[Sku]] = {pid: [] for pid in product_ids}
    if product_ids:
        for sku in db.session.scalars(select(Sku).where(Sku.tenant_id == tenant_id,
                                                        Sku.product_id.in_(product_ids)).order_by(Sku.id)):
            out[sku.product_id].append(sku)
    return out


def can_buy(product: _Permitted, agent_level: str | None) -> bool:
    """The sale permission: everyone, or only the listed agent levels."""
    return product.allowed_levels is None or agent_level in product.allowed_levels


def unit_price(sku: _Prices, agent_level: str | None, member_discount: Decimal | None = None) -> int:
    """What one piece costs a buyer: an agent's level price when the SKU has one for the
    buyer's agent level (the channel price wins), else the retail price less the
    buyer's member-level discount (rounded down to the fen, never below 1), else retail."""
    if agent_level and sku.level_prices and agent_level in sku.level_prices:
        return int(sku.level_prices[agent_level])
    if member_discount is not None:
        return max(1, apply_rate(sku.price_fen, member_discount))
    return sku.price_fen


def browse_products(*, tenant_id: int, agent_level: str | None, after_id: int = 0,
                    limit: int = 20) -> list[Product]:
    """On-shelf products a buyer of this agent level may buy, keyset-paged."""
    out: list[Product] = []
    cursor = after_id
    while len(out) < limit:
        batch = list_products(tenant_id=tenant_id, after_id=cursor, limit=limit * 2, on_shelf=True)
        if not batch:
            break
        out += [p for p in batch if can_buy(p, agent_level)]
        cursor = batch[-1].id
    return out[:limit]


def visible_product(*, tenant_id: int, product_id: int, agent_level: str | None) -> Product:
    """A product as a buyer may see it: on the shelf and permitted, else not found / forbidden."""
    product = get_product(tenant_id=tenant_id, product_id=product_id)
    if not product.on_shelf:
        raise ProductNotFound()
    if not can_buy(product, agent_level):
        raise ProductNotPermitted()
    return product


def product_categories(*, tenant_id: int, product_ids: Sequence[int]) -> dict[int, str]:
    """The category of each of these products of the tenant ("" when it has none)."""
    if not product_ids:
        return {}
    return dict(db.session.execute(select(Product.id, Product.category).where(
        Product.tenant_id == tenant_id, Product.id.in_(sorted(set(product_ids))))).tuples().all())


_sku, _product = Sku.__table__, Product.__table__
# Built once (Core, on the unit of work's connection): every order and restock prices its
# SKUs, and loading them as ORM rows (all 23 columns, the product's description too) cost
# more than the rest of the pricing.
_SKU_ROWS = (
    select(_sku.c.id, _sku.c.product_id, _sku.c.name, _sku.c.price_fen, _sku.c.cost_fen, _sku.c.level_prices,
           _sku.c.enabled, _product.c.name.label("product_name"), _product.c.image_url, _product.c.on_shelf,
           _product.c.allowed_levels)
    .join(_product, and_(_product.c.id == _sku.c.product_id, _product.c.tenant_id == _sku.c.tenant_id))
    .where(_sku.c.tenant_id == bindparam("tenant_id"), _sku.c.id.in_(bindparam("ids", expanding=True))))


def sku_rows(*, tenant_id: int, sku_ids: Collection[int]) -> dict[int, tuple[SkuFacts, ProductFacts]]:
    """These SKUs of this tenant with their products, in one read (unknown ids left
    out): what price_skus prices. A caller that prices the same SKUs twice in one unit
    of work (a restock checks the agent's price, then places its order) reads once and
    hands the rows to both."""
    if not sku_ids:
        return {}
    db.session.flush()  # a Core read does not autoflush: a SKU changed in this unit of work counts
    out = {}
    for r in db.session.connection().execute(_SKU_ROWS, {"tenant_id": tenant_id, "ids": sorted(set(sku_ids))}):
        out[r.id] = (SkuFacts(r.id, r.product_id, r.name, r.price_fen, r.cost_fen, r.level_prices, r.enabled),
                     ProductFacts(r.product_id, r.product_name, r.image_url, r.on_shelf, r.allowed_levels))
    return out


def price_skus(*, tenant_id: int, sku_ids: Sequence[int], agent_level: str | None,
               member_discount: Decimal | None = None, rows: SkuRows | None = None) -> dict[int, PricedSku]:
    """Price SKUs for a buyer, checking each is enabled, on the shelf and permitted.
    `rows`: what sku_rows just read of these SKUs in this unit of work (not read again)."""
    found = sku_rows(tenant_id=tenant_id, sku_ids=sku_ids) if rows is None else rows
    missing = [i for i in sku_ids if i not in found or not found[i][0].enabled]
    if missing:
        raise SkuNotFound(details={"sku_ids": missing})
    out = {}
    for sku_id in sku_ids:
        sku, product = found[sku_id]
        if not product.on_shelf:
            raise ProductOffShelf(f"商品已下架：{product.name}", details={"product_id": product.id})
        if not can_buy(product, agent_level):
            raise ProductNotPermitted(f"您的等级暂不能购买：{product.name}", details={"product_id": product.id})
        out[sku_id] = PricedSku(sku=sku, product=product,
                                unit_price_fen=unit_price(sku, agent_level, member_discount))
    return out


# ------------------------------------------------------------------ stock


def product_ids_of_skus(*, tenant_id: int, sku_ids: Sequence[int]) -> list[int]:
    """The products these SKUs of this tenant belong to (unknown ids are left out)."""
    if not sku_ids:
        return []
    return sorted(set(db.session.scalars(select(Sku.product_id).where(
        Sku.tenant_id == tenant_id, Sku.id.in_(sorted(set(sku_ids)))))))


def reserve_stock(*, tenant_id: int, quantities: Mapping[int, int]) -> None:
    """Take pieces out of stock for an order, all or nothing (OutOfStock names the SKUs
    short). One conditional UPDATE per SKU, ascending ids: concurrent buyers of the last
    pieces are serialized by the row lock and the loser's condition fails."""
    short = []
    for sku_id in sorted(quantities):
        n = quantities[sku_id]
        result = db.session.execute(
            update(Sku).where(Sku.tenant_id == tenant_id, Sku.id == sku_id, Sku.stock >= n)
            .values(stock=Sku.stock - n, sold=Sku.sold + n).execution_options(synchronize_session=False))
        if rowcount(result) != 1:
            short.append(sku_id)
    if not short:
        cache.bump(tenant_id=tenant_id)  # the list shows stock
    if short:
        # The unit of work rolls back the SKUs already taken.
        available = dict(db.session.execute(select(Sku.id, Sku.stock).where(
            Sku.tenant_id == tenant_id, Sku.id.in_(short))).tuples().all())
        raise OutOfStock(details=[{"sku_id": s, "available": available.get(s, 0)} for s in short])


def release_stock(*, tenant_id: int, quantities: Mapping[int, int]) -> None:
    """Return pieces to stock (cancelled or refunded before shipping), ascending ids."""
    for sku_id in sorted(quantities):
        n = quantities[sku_id]
        db.session.execute(
            update(Sku).where(Sku.tenant_id == tenant_id, Sku.id == sku_id)
            .values(stock=Sku.stock + n, sold=Sku.sold - n).execution_options(synchronize_session=False))
    if quantities:
        cache.bump(tenant_id=tenant_id)


# ------------------------------------------------------------------ views


def sku_admin_view(sku: Sku) -> dict[str, Any]:
    """A SKU as the back-office sees it (cost and stock included)."""
    return {"id": sku.id, "product_id": sku.product_id, "name": sku.name, "price_fen": sku.price_fen,
            "price": yuan(sku.price_fen), "cost_fen": sku.cost_fen, "level_prices": sku.level_prices or {},
            "stock": sku.stock, "sold": sku.sold, "enabled": sku.enabled}


def product_admin_view(product: Product, skus: Sequence[Sku]) -> dict[str, Any]:
    """A product with every SKU as the back-office sees it."""
    return {"id": product.id, "name": product.name, "subtitle": product.subtitle, "category": product.category,
            "description": product.description, "image_url": product.image_url, "on_shelf": product.on_shelf,
            "allowed_levels": product.allowed_levels, "grants_level": product.grants_level,
            "skus": [sku_admin_view(s) for s in skus],
            "created_at": product.created_at.isoformat(), "updated_at": product.updated_at.isoformat()}


def product_buyer_view(product: Product, skus: Sequence[Sku], *, agent_level: str | None,
                       member_discount: Decimal | None = None) -> dict[str, Any]:
    """A product as a buyer sees it: its own price per SKU (agent or member-level price
    beside the retail price), no cost price."""
    rows: list[dict[str, Any]] = []
    for s in skus:
        if not s.enabled:
            continue
        price = unit_price(s, agent_level, member_discount)
        rows.append({"id": s.id, "name": s.name, "price_fen": price, "price": yuan(price),
                     "retail_price_fen": s.price_fen, "in_stock": s.stock > 0, "stock": s.stock})
    prices = [r["price_fen"] for r in rows]
    return {"id": product.id, "name": product.name, "subtitle": product.subtitle, "category": product.category,
            "description": product.description, "image_url": product.image_url,
            "min_price_fen": min(prices) if prices else None, "skus": rows}
