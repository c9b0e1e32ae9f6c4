"""Mini-shop verbs: open and edit a shop, pick and order its products, the shop page,
a visitor arriving through a shop (bound per the tenant's policy, source "shop"),
the shop's QR code, and attributing orders to a shop.

For the orders domain: `order_attribution(tenant_id=, shop_id=, product_ids=)` says
whether an order placed from a shop page belongs to that shop (store the returned
shop id on the order); it never raises for a stale or foreign shop id.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from backend.audit.service import record_audit
from backend.extensions import db, get_redis
from backend.members.errors import (
    AlreadyBound,
    BindingCycle,
    InvalidScene,
    InviteCodeUnknown,
    ParentNotPromoter,
    SelfBinding,
)
from backend.members.scene import Scene, parse_scene
from backend.members.service import bind_by_scene, get_member
from backend.members.types import BindOutcome, MemberInfo, PromoterStatus
from backend.posters.service import share_link
from backend.shops import orders_port
from backend.shops.errors import (
    InvalidShopField,
    NotPromoter,
    ProductNotInShop,
    ProductRestricted,
    ProductUnavailable,
    ShopAlreadyOpen,
    ShopNotFound,
    ShopSuspended,
    ShopUnavailable,
    TooManyProducts,
)
from backend.shops.models import Shop, ShopItem, ShopVisit
from backend.shops.products import ProductCard, lookup_products
from backend.shops.types import ShopStatus
from backend.staff.errors import StaffNotFound
from backend.tenants.service import get_tenant
from backend.wechat.service import credentials, gateway

MAX_PRODUCTS = 100
SHOP_PAGE = "pages/shop/index"  # the mini-program page a shop code opens
QR_CACHE_SECONDS = 30 * 86400
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NOT_BINDABLE = (AlreadyBound, BindingCycle, ParentNotPromoter, SelfBinding, InviteCodeUnknown,
                 StaffNotFound)


# ------------------------------------------------------------------ validation

def _text(field: str, value: str, *, max_len: int, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidShopField(details=[{"field": field, "message": "不能为空"}])
    if len(value) > max_len:
        raise InvalidShopField(details=[{"field": field, "message": f"不能超过 {max_len} 个字"}])
    if _CONTROL.search(value):
        raise InvalidShopField(details=[{"field": field, "message": "含有不可见字符"}])
    return value


def _url(field: str, value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > 512 or not value.startswith("https://") or any(c.isspace() for c in value) \
            or len(value) <= len("https://"):
        raise InvalidShopField(details=[{"field": field, "message": "需要以 https:// 开头的链接"}])
    return value


# ------------------------------------------------------------------ shop

def open_shop(*, tenant_id: int, member_id: int, name: str, intro: str = "",
              banner_url: str = "", video_url: str = "", now: datetime) -> Shop:
    """An active promoter opens their one shop."""
    member = get_member(tenant_id=tenant_id, member_id=member_id)
    if member.promoter_status != PromoterStatus.ACTIVE:
        raise NotPromoter()
    if _find_by_owner(tenant_id, member.id) is not None:
        raise ShopAlreadyOpen()
    shop = Shop(tenant_id=tenant_id, owner_member_id=member.id,
                name=_text("name", name, max_len=30, required=True),
                intro=_text("intro", intro, max_len=200, required=False),
                banner_url=_url("banner_url", banner_url), video_url=_url("video_url", video_url),
                status=ShopStatus.OPEN, version=1, created_at=now, updated_at=now)
    db.session.add(shop)
    try:
        db.session.flush()
    except IntegrityError:  # a second open of the same member's shop at the same moment
        raise ShopAlreadyOpen() from None
    return shop


def _find_by_owner(tenant_id: int, member_id: int) -> Shop | None:
    return db.session.scalar(select(Shop).where(Shop.tenant_id == tenant_id,
                                                Shop.owner_member_id == member_id))


def get_shop(*, tenant_id: int, shop_id: int) -> Shop:
    """One shop of this tenant, or ShopNotFound (never another tenant's)."""
    shop = db.session.get(Shop, shop_id)
    if shop is None or shop.tenant_id != tenant_id:
        raise ShopNotFound()
    return shop


def get_open_shop(*, tenant_id: int, shop_id: int) -> Shop:
    """A shop visitors may see: open, else ShopUnavailable."""
    shop = get_shop(tenant_id=tenant_id, shop_id=shop_id)
    if shop.status != ShopStatus.OPEN:
        raise ShopUnavailable()
    return shop


def my_shop(*, tenant_id: int, member_id: int) -> Shop:
    """The member's own shop, or ShopNotFound."""
    shop = _find_by_owner(tenant_id, member_id)
    if shop is None:
        raise ShopNotFound("你还没有开店")
    return shop


def update_shop(*, tenant_id: int, member_id: int, now: datetime, name: str | None = None,
                intro: str | None = None, banner_url: str | None = None,
                video_url: str | None = None, status: str | None = None) -> Shop:
    """The owner edits their shop or closes / reopens it; poster-visible changes bump the version."""
    shop = my_shop(tenant_id=tenant_id, member_id=member_id)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _text("name", name, max_len=30, required=True)
    if intro is not None:
        changes["intro"] = _text("intro", intro, max_len=200, required=False)
    if banner_url is not None:
        changes["banner_url"] = _url("banner_url", banner_url)
    if video_url is not None:
        changes["video_url"] = _url("video_url", video_url)
    if status is not None:
        if status not in (ShopStatus.OPEN, ShopStatus.CLOSED):
            raise InvalidShopField(details=[{"field": "status", "message": "只能是 open 或 closed"}])
        if shop.status == ShopStatus.SUSPENDED:
            raise ShopSuspended()
        if status == ShopStatus.OPEN:
            _require_promoter(tenant_id, member_id)
        changes["status"] = status
    changed = {k: v for k, v in changes.items() if getattr(shop, k) != v}
    for key, value in changed.items():
        setattr(shop, key, value)
    if changed.keys() & {"name", "intro", "banner_url"}:
        shop.version += 1
    if changed:
        shop.updated_at = now
    return shop


def _require_promoter(tenant_id: int, member_id: int) -> None:
    if get_member(tenant_id=tenant_id, member_id=member_id).promoter_status != PromoterStatus.ACTIVE:
        raise NotPromoter()


def set_shop_status(*, tenant_id: int, shop_id: int, status: str, actor: str,
                    now: datetime) -> Shop:
    """An operator suspends a shop or lifts the suspension (back to open), audited."""
    if status not in (ShopStatus.OPEN, ShopStatus.SUSPENDED):
        raise InvalidShopField(details=[{"field": "status", "message": "只能是 open 或 suspended"}])
    shop = get_shop(tenant_id=tenant_id, shop_id=shop_id)
    before = shop.status
    if before != status:
        shop.status = status
        shop.updated_at = now
    record_audit(tenant_id=tenant_id, actor=actor, action="shop.status", target_type="shop",
                 target_id=shop.id, before={"status": before}, after={"status": status})
    return shop


def list_shops(*, tenant_id: int, after_id: int = 0, limit: int = 50,
               status: str | None = None) -> list[Shop]:
    """Shops of a tenant for the back-office, keyset-paged by id."""
    stmt = select(Shop).where(Shop.tenant_id == tenant_id, Shop.id > after_id)
    if status is not None:
        stmt = stmt.where(Shop.status == status)
    return list(db.session.scalars(stmt.order_by(Shop.id).limit(limit)))


# ------------------------------------------------------------------ products

def shop_items(*, tenant_id: int, shop_id: int, lock: bool = False) -> list[ShopItem]:
    """The shop's products in the owner's order (lock: a current read, for edits)."""
    stmt = (select(ShopItem).where(ShopItem.tenant_id == tenant_id, ShopItem.shop_id == shop_id)
            .order_by(ShopItem.position, ShopItem.id))
    if lock:
        # Under the shop's lock, edits must see the last committed list, not the snapshot
        # MariaDB's REPEATABLE READ may have taken before the lock was granted.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return list(db.session.scalars(stmt))


def _check_ids(product_ids: Sequence[int]) -> list[int]:
    ids = list(product_ids)
    if any(not isinstance(i, int) or isinstance(i, bool) or i <= 0 for i in ids):
        raise InvalidShopField(details=[{"field": "product_ids", "message": "商品编号无效"}])
    if len(set(ids)) != len(ids):
        raise InvalidShopField(details=[{"field": "product_ids", "message": "商品重复"}])
    return ids


def _require_on_sale(tenant_id: int, product_ids: Iterable[int]) -> None:
    ids = sorted(set(product_ids))
    if not ids:
        return
    cards = lookup_products(tenant_id=tenant_id, product_ids=ids)
    bad = [i for i in ids if i not in cards or not cards[i].on_sale]
    if bad:
        raise ProductUnavailable(details={"product_ids": bad})
    # A shop is open to anyone its owner shares it with: a product only some agent
    # levels may buy would be shown to visitors who cannot buy it.
    restricted = [i for i in ids if not cards[i].for_everyone]
    if restricted:
        raise ProductRestricted(details={"product_ids": restricted})


def _lock_shop(tenant_id: int, member_id: int) -> Shop:
    """The owner's shop row, locked: two edits of one product list run one after the other."""
    shop = db.session.scalar(select(Shop).where(
        Shop.tenant_id == tenant_id, Shop.owner_member_id == member_id)
        .with_for_update().execution_options(populate_existing=True))
    if shop is None:
        raise ShopNotFound("你还没有开店")
    return shop


def set_products(*, tenant_id: int, member_id: int, product_ids: Sequence[int],
                 now: datetime) -> list[ShopItem]:
    """Replace the shop's product list with `product_ids` in that order (picks, removals, reorder).

    Products new to the shop must be on sale; ones already in it may stay even when the
    catalog took them off the shelf (the shop page hides them until they return).
    """
    ids = _check_ids(product_ids)
    if len(ids) > MAX_PRODUCTS:
        raise TooManyProducts(details={"max": MAX_PRODUCTS})
    shop = _lock_shop(tenant_id, member_id)
    current = {i.product_id: i for i in shop_items(tenant_id=tenant_id, shop_id=shop.id, lock=True)}
    _require_on_sale(tenant_id, [i for i in ids if i not in current])
    gone = [pid for pid in current if pid not in set(ids)]
    if gone:
        db.session.execute(delete(ShopItem).where(ShopItem.shop_id == shop.id,
                                                  ShopItem.product_id.in_(gone)))
    for position, pid in enumerate(ids):
        item = current.get(pid)
        if item is None:
            db.session.add(ShopItem(tenant_id=tenant_id, shop_id=shop.id, product_id=pid,
                                    position=position, added_at=now))
        elif item.position != position:
            item.position = position
    shop.updated_at = now
    db.session.flush()
    return shop_items(tenant_id=tenant_id, shop_id=shop.id, lock=True)


def add_products(*, tenant_id: int, member_id: int, product_ids: Sequence[int],
                 now: datetime) -> list[ShopItem]:
    """Append products to the end of the shop (ones already in it stay where they are)."""
    ids = _check_ids(product_ids)
    shop = _lock_shop(tenant_id, member_id)
    current = [i.product_id for i in shop_items(tenant_id=tenant_id, shop_id=shop.id, lock=True)]
    new = [i for i in ids if i not in set(current)]
    return set_products(tenant_id=tenant_id, member_id=member_id, product_ids=current + new,
                        now=now)


def remove_product(*, tenant_id: int, member_id: int, product_id: int,
                   now: datetime) -> list[ShopItem]:
    """Take one product out of the shop."""
    shop = _lock_shop(tenant_id, member_id)
    current = [i.product_id for i in shop_items(tenant_id=tenant_id, shop_id=shop.id, lock=True)]
    if product_id not in current:
        raise ProductNotInShop()
    return set_products(tenant_id=tenant_id, member_id=member_id,
                        product_ids=[p for p in current if p != product_id], now=now)


def move_product(*, tenant_id: int, member_id: int, product_id: int, position: int,
                 now: datetime) -> list[ShopItem]:
    """Move one product to a position (0 = first; past the end = last)."""
    shop = _lock_shop(tenant_id, member_id)
    current = [i.product_id for i in shop_items(tenant_id=tenant_id, shop_id=shop.id, lock=True)]
    if product_id not in current:
        raise ProductNotInShop()
    if position < 0:
        raise InvalidShopField(details=[{"field": "position", "message": "位置不能为负数"}])
    current.remove(product_id)
    current.insert(min(position, len(current)), product_id)
    return set_products(tenant_id=tenant_id, member_id=member_id, product_ids=current, now=now)


# ------------------------------------------------------------------ views

def _card_view(card: ProductCard) -> dict[str, Any]:
    return {"id": card.id, "title": card.title, "price_fen": card.price_fen,
            "original_price_fen": card.original_price_fen, "picture_url": card.picture_url}


def shop_view(shop: Shop) -> dict[str, Any]:
    return {"id": shop.id, "name": shop.name, "intro": shop.intro, "banner_url": shop.banner_url,
            "video_url": shop.video_url, "status": shop.status,
            "owner_member_id": shop.owner_member_id, "updated_at": shop.updated_at.isoformat()}


def shop_page(*, tenant_id: int, shop_id: int) -> dict[str, Any]:
    """What a visitor sees: the open shop, its owner, and its on-sale products in order."""
    shop = get_open_shop(tenant_id=tenant_id, shop_id=shop_id)
    owner = get_member(tenant_id=tenant_id, member_id=shop.owner_member_id)
    items = shop_items(tenant_id=tenant_id, shop_id=shop.id)
    cards = lookup_products(tenant_id=tenant_id, product_ids=[i.product_id for i in items])
    products = [_card_view(cards[i.product_id]) for i in items
                if i.product_id in cards and cards[i.product_id].on_sale]
    view = shop_view(shop)
    del view["owner_member_id"], view["status"]
    return {"shop": view, "owner": {"nickname": owner.nickname, "avatar_url": owner.avatar_url},
            "products": products}


def owner_view(*, tenant_id: int, member_id: int) -> dict[str, Any]:
    """The owner's shop with every picked product (on sale or not) and the shop's numbers."""
    shop = my_shop(tenant_id=tenant_id, member_id=member_id)
    items = shop_items(tenant_id=tenant_id, shop_id=shop.id)
    cards = lookup_products(tenant_id=tenant_id, product_ids=[i.product_id for i in items])
    products = []
    for item in items:
        card = cards.get(item.product_id)
        row = _card_view(card) if card else {"id": item.product_id, "title": "", "price_fen": None,
                                             "original_price_fen": None, "picture_url": None}
        row["on_sale"] = bool(card and card.on_sale)
        products.append(row)
    return {"shop": shop_view(shop), "products": products,
            "stats": shop_stats(tenant_id=tenant_id, shop_ids=[shop.id])[shop.id]}


def shop_stats(*, tenant_id: int, shop_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Visitors, visitors the shop bound, and the shop's paid orders and sales, per shop."""
    out = {sid: {"visitors": 0, "bound_visitors": 0, "orders": 0, "sales_fen": 0}
           for sid in shop_ids}
    if not shop_ids:
        return out
    rows = db.session.execute(
        select(ShopVisit.shop_id, func.count(), func.count(ShopVisit.bound_at))
        .where(ShopVisit.tenant_id == tenant_id, ShopVisit.shop_id.in_(list(shop_ids)))
        .group_by(ShopVisit.shop_id))
    for shop_id, visitors, bound in rows:
        out[shop_id].update(visitors=visitors, bound_visitors=bound)
    for shop_id, orders, sales in orders_port.shop_order_totals(tenant_id=tenant_id, shop_ids=shop_ids):
        out[shop_id].update(orders=orders, sales_fen=sales)
    return out


# ------------------------------------------------------------------ visitors


@dataclass(frozen=True)
class ShopEntry:
    shop_id: int
    bind_status: str  # bound | pending | rebound | unchanged (already bound, or not bindable)
    parent_id: int | None


def enter_shop(*, tenant_id: int, member_id: int, scene: str, now: datetime) -> ShopEntry:
    """A member opens a shop through its code or a share (scene `h=<shop>&i=<invite code>`):
    bind them per the tenant's policy (source "shop") and count the visit.

    The visit never fails because the binding cannot happen (already bound elsewhere,
    own shop, sharer not a promoter): the visitor still sees the shop.
    """
    parsed = parse_scene(scene)
    if parsed.shop_id is None:
        raise InvalidScene("分享参数缺少小店")
    shop = get_open_shop(tenant_id=tenant_id, shop_id=parsed.shop_id)
    visitor = get_member(tenant_id=tenant_id, member_id=member_id)
    pending_before = visitor.pending_parent_id
    status: str = BindOutcome.UNCHANGED
    parent_id = visitor.parent_id
    try:
        result = bind_by_scene(tenant_id=tenant_id, member_id=member_id, scene=scene,
                               source="shop", now=now)
    except _NOT_BINDABLE:
        pass
    else:
        parent_id = result.parent_id
        status = _new_binding(visitor, result.status, result.parent_id, pending_before, now)
    _record_visit(tenant_id=tenant_id, shop_id=shop.id, member_id=member_id, now=now,
                  bound=status != BindOutcome.UNCHANGED)
    return ShopEntry(shop_id=shop.id, bind_status=status, parent_id=parent_id)


def _new_binding(member: MemberInfo, status: str, parent_id: int, pending_before: int | None,
                 now: datetime) -> str:
    """bind_member answers "bound" (or "pending") again for an existing binding to the same
    parent; what this visit did is told by the locked row it refreshed: a binding made now
    carries bound_at == now."""
    if status == BindOutcome.PENDING:
        return BindOutcome.UNCHANGED if pending_before == parent_id else BindOutcome.PENDING
    return status if member.bound_at == now else BindOutcome.UNCHANGED


def _record_visit(*, tenant_id: int, shop_id: int, member_id: int, now: datetime,
                  bound: bool) -> None:
    """Insert the visit row or count one more visit, in one statement (no read-then-write race)."""
    values = {"tenant_id": tenant_id, "shop_id": shop_id, "member_id": member_id,
              "first_at": now, "last_at": now, "visits": 1, "bound_at": now if bound else None}
    if db.session.get_bind().dialect.name == "mysql":
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        ins = mysql_insert(ShopVisit).values(**values)
        stmt: Any = ins.on_duplicate_key_update(
            last_at=ins.inserted.last_at, visits=ShopVisit.visits + 1,
            bound_at=func.coalesce(ShopVisit.bound_at, ins.inserted.bound_at))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(ShopVisit).values(**values)
        stmt = lite.on_conflict_do_update(
            index_elements=["shop_id", "member_id"],
            set_={"last_at": lite.excluded.last_at, "visits": ShopVisit.visits + 1,
                  "bound_at": func.coalesce(ShopVisit.bound_at, lite.excluded.bound_at)})
    db.session.execute(stmt)


def last_visited_shop(*, tenant_id: int, member_id: int, since: datetime) -> int | None:
    """The shop the member visited most recently since `since` (for attributing an order
    that arrived without a shop id), or None."""
    return db.session.scalar(
        select(ShopVisit.shop_id).where(ShopVisit.tenant_id == tenant_id,
                                        ShopVisit.member_id == member_id,
                                        ShopVisit.last_at >= since)
        .order_by(ShopVisit.last_at.desc(), ShopVisit.id.desc()).limit(1))


# ------------------------------------------------------------------ orders

@dataclass(frozen=True)
class ShopAttribution:
    shop_id: int
    owner_member_id: int


def order_attribution(*, tenant_id: int, shop_id: int | None,
                      product_ids: Iterable[int]) -> ShopAttribution | None:
    """Whether an order placed from a shop belongs to it: the shop is this tenant's, open,
    and shows at least one of the order's products. Never raises (a bad id is None)."""
    if not shop_id or not isinstance(shop_id, int):
        return None
    shop = db.session.get(Shop, shop_id)
    if shop is None or shop.tenant_id != tenant_id or shop.status != ShopStatus.OPEN:
        return None
    ids = [p for p in set(product_ids) if isinstance(p, int)]
    if not ids:
        return None
    hit = db.session.scalar(select(ShopItem.id).where(
        ShopItem.shop_id == shop.id, ShopItem.product_id.in_(ids)).limit(1))
    return ShopAttribution(shop_id=shop.id, owner_member_id=shop.owner_member_id) if hit else None


# ------------------------------------------------------------------ QR code

def shop_scene(*, shop: Shop, owner: MemberInfo) -> str:
    """The scene a shop's code carries: the shop and its owner's invite code."""
    return Scene(invite_code=owner.invite_code, shop_id=shop.id).encode()


def shop_qr(*, tenant_id: int, member_id: int) -> bytes:
    """The owner's shop code as PNG: a mini-program code (getUnlimited) opening the shop page,
    or a plain QR of the share link for a tenant without a mini-program; cached in Redis."""

    shop = my_shop(tenant_id=tenant_id, member_id=member_id)
    if shop.status != ShopStatus.OPEN:
        raise ShopUnavailable()
    owner = get_member(tenant_id=tenant_id, member_id=member_id)
    scene = shop_scene(shop=shop, owner=owner)
    mp = credentials(tenant_id=tenant_id).mini_program
    if mp is not None:
        source = f"mp:{mp.appid}:{SHOP_PAGE}:{scene}"
    else:
        link = share_link(tenant=get_tenant(tenant_id=tenant_id), scene=scene)
        source = f"url:{link}"
    key = "siyu:shopqr:" + hashlib.sha256(f"{tenant_id}|{source}".encode()).hexdigest()
    redis = get_redis()
    cached = redis.get(key)
    if cached:
        return bytes(cached)
    if mp is not None:
        png = gateway().mini_program(mp).get_unlimited_code(scene=scene, page=SHOP_PAGE,
                                                            width=430, check_path=False)
    else:
        png = _plain_qr(link)
    redis.set(key, png, ex=QR_CACHE_SECONDS)
    return png


def _plain_qr(text: str) -> bytes:
    import qrcode

    img = qrcode.make(text, box_size=10, border=4)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue()
