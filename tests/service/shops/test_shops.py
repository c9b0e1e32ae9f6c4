"""Mini-shops: opening, picking and ordering products, visitors bound through the shop,
the shop's code and poster, and orders attributed to it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members.errors import InvalidScene
from backend.members.models import Binding, Member
from backend.posters import service as posters
from backend.shops import service as shops
from backend.shops.errors import (
    InvalidShopField,
    NotPromoter,
    ProductNotInShop,
    ProductUnavailable,
    ShopAlreadyOpen,
    ShopNotFound,
    ShopSuspended,
    ShopUnavailable,
    TooManyProducts,
)
from backend.shops.models import ShopVisit
from backend.tenants.service import create_tenant
from tests.shops_factories import StandInCatalog, open_shop
from tests.unit.posters.conftest import read_qr_texts


def product_ids(tenant: Any, shop: Any) -> list[int]:
    return [i.product_id for i in shops.shop_items(tenant_id=tenant.id, shop_id=shop.id)]


def enter(tenant: Any, visitor: Any, scene: str, now: Any = None) -> shops.ShopEntry:
    with unit_of_work():
        return shops.enter_shop(tenant_id=tenant.id, member_id=visitor.id, scene=scene,
                                now=now or utcnow())


def fresh(member: Any) -> Member:
    return db.session.get(Member, member.id, populate_existing=True)


# ------------------------------------------------------------------ opening


def test_an_active_promoter_opens_one_shop_and_a_second_is_refused(factory: Any) -> None:
    tenant = factory.tenant()
    owner = factory.member(tenant)
    shop = open_shop(tenant, owner, name="  小美的好物店 ", intro="每周上新",
                     banner_url="https://mmbiz.qpic.cn/banner.jpg",
                     video_url="https://example.com/v.mp4")
    assert (shop.name, shop.intro, shop.status, shop.version) == ("小美的好物店", "每周上新", "open", 1)
    assert shops.my_shop(tenant_id=tenant.id, member_id=owner.id).id == shop.id
    with pytest.raises(ShopAlreadyOpen), unit_of_work():
        shops.open_shop(tenant_id=tenant.id, member_id=owner.id, name="第二家", now=utcnow())


def test_a_member_who_is_not_a_promoter_cannot_open_a_shop(factory: Any) -> None:
    tenant = factory.tenant(promoter_mode="apply")
    member = factory.member(tenant)
    with pytest.raises(NotPromoter), unit_of_work():
        shops.open_shop(tenant_id=tenant.id, member_id=member.id, name="小店", now=utcnow())


@pytest.mark.parametrize("fields, field", [
    ({"name": "   "}, "name"),
    ({"name": "店" * 31}, "name"),
    ({"name": "小店\x07"}, "name"),
    ({"name": "小店", "intro": "介" * 201}, "intro"),
    ({"name": "小店", "banner_url": "http://mmbiz.qpic.cn/a.jpg"}, "banner_url"),
    ({"name": "小店", "banner_url": "javascript:alert(1)"}, "banner_url"),
    ({"name": "小店", "video_url": "https://exa mple.com/v.mp4"}, "video_url"),
])
def test_bad_shop_fields_are_refused_naming_the_field(factory: Any, fields: dict, field: str) -> None:
    tenant = factory.tenant()
    owner = factory.member(tenant)
    with pytest.raises(InvalidShopField) as err, unit_of_work():
        shops.open_shop(tenant_id=tenant.id, member_id=owner.id, now=utcnow(), **fields)
    assert [d["field"] for d in err.value.details] == [field]


def test_editing_what_the_poster_shows_bumps_the_version_but_the_video_does_not(factory: Any) -> None:
    tenant = factory.tenant()
    owner = factory.member(tenant)
    open_shop(tenant, owner)
    with unit_of_work():
        shop = shops.update_shop(tenant_id=tenant.id, member_id=owner.id, now=utcnow(),
                                 video_url="https://example.com/new.mp4")
    assert shop.version == 1
    with unit_of_work():
        shop = shops.update_shop(tenant_id=tenant.id, member_id=owner.id, now=utcnow(),
                                 name="新名字", intro="新介绍")
    assert (shop.name, shop.intro, shop.version) == ("新名字", "新介绍", 2)
    with unit_of_work():
        shop = shops.update_shop(tenant_id=tenant.id, member_id=owner.id, now=utcnow(),
                                 name="新名字")
    assert shop.version == 2


# ------------------------------------------------------------------ products


def test_picking_products_keeps_the_owners_order_through_add_move_and_remove(
        factory: Any, catalog: StandInCatalog) -> None:
    tenant = factory.tenant()
    owner = factory.member(tenant)
    a, b, c, d = (catalog.add(tenant, title=t) for t in ("茶", "杯", "壶", "盘"))
    shop = open_shop(tenant, owner, product_ids=[c, a])
    assert product_ids(tenant, shop) == [c, a]
    now = utcnow()
    with unit_of_work():
        shops.add_products(tenant_id=tenant.id, member_id=owner.id, product_ids=[a, b, d], now=now)
    assert product_ids(tenant, shop) == [c, a, b, d]
    with unit_of_work():
        shops.move_product(tenant_id=tenant.id, member_id=owner.id, product_id=d, position=0,
                           now=now)
    assert product_ids(tenant, shop) == [d, c, a, b]
    with unit_of_work():
        shops.move_product(tenant_id=tenant.id, member_id=owner.id, product_id=d, position=99,
                           now=now)
    assert product_ids(tenant, shop) == [c, a, b, d]
    with unit_of_work():
        shops.remove_product(tenant_id=tenant.id, member_id=owner.id, product_id=a, now=now)
    assert product_ids(tenant, shop) == [c, b, d]
    with pytest.raises(ProductNotInShop), unit_of_work():
        shops.remove_product(tenant_id=tenant.id, member_id=owner.id, product_id=a, now=now)
    with unit_of_work():
        shops.set_products(tenant_id=tenant.id, member_id=owner.id, product_ids=[d, b], now=now)
    assert product_ids(tenant, shop) == [d, b]


def test_only_products_on_sale_in_this_tenants_catalog_can_be_picked(
        factory: Any, catalog: StandInCatalog) -> None:
    tenant, other = factory.tenant(), factory.tenant()
    owner = factory.member(tenant)
    mine = catalog.add(tenant)
    off = catalog.add(tenant, on_sale=False)
    foreign = catalog.add(other)
    open_shop(tenant, owner)
    with pytest.raises(ProductUnavailable) as err, unit_of_work():
        shops.set_products(tenant_id=tenant.id, member_id=owner.id,
                           product_ids=[mine, off, foreign, 999999], now=utcnow())
    assert err.value.details == {"product_ids": sorted([off, foreign, 999999])}
    shop = shops.my_shop(tenant_id=tenant.id, member_id=owner.id)
    assert product_ids(tenant, shop) == []  # nothing half-applied


def test_duplicate_or_too_many_products_are_refused(factory: Any, catalog: StandInCatalog) -> None:
    tenant = factory.tenant()
    owner = factory.member(tenant)
    pid = catalog.add(tenant)
    open_shop(tenant, owner)
    with pytest.raises(InvalidShopField), unit_of_work():
        shops.set_products(tenant_id=tenant.id, member_id=owner.id, product_ids=[pid, pid],
                           now=utcnow())
    many = [catalog.add(tenant) for _ in range(shops.MAX_PRODUCTS + 1)]
    with pytest.raises(TooManyProducts), unit_of_work():
        shops.set_products(tenant_id=tenant.id, member_id=owner.id, product_ids=many, now=utcnow())


def test_a_product_taken_off_the_shelf_stays_picked_but_is_hidden_from_visitors(
        factory: Any, catalog: StandInCatalog) -> None:
    tenant = factory.tenant()
    owner = factory.member(tenant, nickname="小美")
    tea = catalog.add(tenant, title="普洱茶", price_fen=12900, original_price_fen=15900)
    cup = catalog.add(tenant, title="茶杯", price_fen=3900)
    shop = open_shop(tenant, owner, product_ids=[cup, tea])
    catalog.take_off_shelf(tenant, cup)

    page = shops.shop_page(tenant_id=tenant.id, shop_id=shop.id)
    assert page["owner"]["nickname"] == "小美"
    assert [(p["id"], p["title"], p["price_fen"], p["original_price_fen"])
            for p in page["products"]] == [(tea, "普洱茶", 12900, 15900)]
    mine = shops.owner_view(tenant_id=tenant.id, member_id=owner.id)
    assert [(p["id"], p["on_sale"]) for p in mine["products"]] == [(cup, False), (tea, True)]
    # reordering the whole list (off-shelf one included) still works
    with unit_of_work():
        shops.set_products(tenant_id=tenant.id, member_id=owner.id, product_ids=[tea, cup],
                           now=utcnow())
    assert product_ids(tenant, shop) == [tea, cup]


# ------------------------------------------------------------------ visitors


def test_a_visitor_arriving_through_the_shop_is_bound_with_source_shop(factory: Any) -> None:
    tenant = factory.tenant()
    owner, visitor = factory.member(tenant), factory.member(tenant)
    shop = open_shop(tenant, owner)
    scene = shops.shop_scene(shop=shop, owner=owner)
    assert scene == f"i={owner.invite_code}&h={shop.id}"

    entry = enter(tenant, visitor, scene)
    assert (entry.shop_id, entry.bind_status, entry.parent_id) == (shop.id, "bound", owner.id)
    assert fresh(visitor).parent_id == owner.id
    binding = db.session.scalar(select(Binding).where(Binding.member_id == visitor.id))
    assert (binding.parent_id, binding.source, binding.scene) == (owner.id, "shop", scene)

    again = enter(tenant, visitor, scene)
    assert again.bind_status == "unchanged"
    visit = db.session.scalar(select(ShopVisit).where(ShopVisit.member_id == visitor.id))
    db.session.refresh(visit)
    assert visit.visits == 2 and visit.bound_at is not None
    assert shops.shop_stats(tenant_id=tenant.id, shop_ids=[shop.id])[shop.id] == {
        "visitors": 1, "bound_visitors": 1, "orders": 0, "sales_fen": 0}


def test_a_visitor_bound_elsewhere_still_sees_the_shop_and_keeps_their_parent(factory: Any) -> None:
    tenant = factory.tenant()
    first, owner = factory.member(tenant), factory.member(tenant)
    visitor = factory.member(tenant, parent=first)
    shop = open_shop(tenant, owner)

    entry = enter(tenant, visitor, shops.shop_scene(shop=shop, owner=owner))
    assert (entry.bind_status, entry.parent_id) == ("unchanged", first.id)
    assert fresh(visitor).parent_id == first.id
    assert shops.shop_stats(tenant_id=tenant.id, shop_ids=[shop.id])[shop.id]["visitors"] == 1
    assert shops.shop_stats(tenant_id=tenant.id, shop_ids=[shop.id])[shop.id]["bound_visitors"] == 0


def test_the_owner_visiting_their_own_shop_is_not_bound(factory: Any) -> None:
    tenant = factory.tenant()
    owner = factory.member(tenant)
    shop = open_shop(tenant, owner)
    entry = enter(tenant, owner, shops.shop_scene(shop=shop, owner=owner))
    assert entry.bind_status == "unchanged" and fresh(owner).parent_id is None


def test_a_bind_on_purchase_tenant_parks_the_shop_visitor_until_the_first_order(factory: Any) -> None:
    tenant = factory.tenant(bind_on="purchase")
    owner, visitor = factory.member(tenant), factory.member(tenant)
    shop = open_shop(tenant, owner)
    entry = enter(tenant, visitor, shops.shop_scene(shop=shop, owner=owner))
    assert (entry.bind_status, entry.parent_id) == ("pending", owner.id)
    member = fresh(visitor)
    assert (member.parent_id, member.pending_parent_id, member.pending_source) == (
        None, owner.id, "shop")


def test_a_share_of_the_shop_by_another_promoter_binds_to_the_sharer(factory: Any) -> None:
    tenant = factory.tenant()
    owner, sharer, visitor = factory.member(tenant), factory.member(tenant), factory.member(tenant)
    shop = open_shop(tenant, owner)
    entry = enter(tenant, visitor, f"i={sharer.invite_code}&h={shop.id}")
    assert (entry.shop_id, entry.parent_id) == (shop.id, sharer.id)


def test_scenes_without_a_shop_or_for_a_closed_or_foreign_shop_are_refused(factory: Any) -> None:
    tenant, other = factory.tenant(), factory.tenant()
    owner, visitor = factory.member(tenant), factory.member(tenant)
    foreign_owner = factory.member(other)
    shop = open_shop(tenant, owner)
    foreign = open_shop(other, foreign_owner)
    with pytest.raises(InvalidScene), unit_of_work():
        shops.enter_shop(tenant_id=tenant.id, member_id=visitor.id,
                         scene=f"i={owner.invite_code}", now=utcnow())
    with pytest.raises(ShopNotFound), unit_of_work():
        shops.enter_shop(tenant_id=tenant.id, member_id=visitor.id,
                         scene=f"i={owner.invite_code}&h={foreign.id}", now=utcnow())
    with unit_of_work():
        shops.update_shop(tenant_id=tenant.id, member_id=owner.id, status="closed", now=utcnow())
    with pytest.raises(ShopUnavailable), unit_of_work():
        shops.enter_shop(tenant_id=tenant.id, member_id=visitor.id,
                         scene=shops.shop_scene(shop=shop, owner=owner), now=utcnow())
    assert fresh(visitor).parent_id is None  # a refused visit binds nobody
    with unit_of_work():
        shops.update_shop(tenant_id=tenant.id, member_id=owner.id, status="open", now=utcnow())
    assert enter(tenant, visitor, shops.shop_scene(shop=shop, owner=owner)).bind_status == "bound"


def test_an_operator_suspends_a_shop_audited_and_the_owner_cannot_reopen_it(factory: Any) -> None:
    tenant = factory.tenant()
    owner = factory.member(tenant)
    shop = open_shop(tenant, owner)
    with unit_of_work():
        shops.set_shop_status(tenant_id=tenant.id, shop_id=shop.id, status="suspended",
                              actor="staff:7", now=utcnow())
    with pytest.raises(ShopUnavailable):
        shops.shop_page(tenant_id=tenant.id, shop_id=shop.id)
    with pytest.raises(ShopSuspended), unit_of_work():
        shops.update_shop(tenant_id=tenant.id, member_id=owner.id, status="open", now=utcnow())
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "shop.status"))
    assert (audit.actor, audit.target_id, audit.before, audit.after) == (
        "staff:7", str(shop.id), {"status": "open"}, {"status": "suspended"})


def test_the_most_recent_shop_visit_is_found_within_a_window(factory: Any) -> None:
    tenant = factory.tenant()
    o1, o2, visitor = factory.member(tenant), factory.member(tenant), factory.member(tenant)
    s1, s2 = open_shop(tenant, o1), open_shop(tenant, o2)
    now = utcnow()
    enter(tenant, visitor, shops.shop_scene(shop=s1, owner=o1), now=now - timedelta(days=3))
    enter(tenant, visitor, shops.shop_scene(shop=s2, owner=o2), now=now - timedelta(hours=1))
    assert shops.last_visited_shop(tenant_id=tenant.id, member_id=visitor.id,
                                   since=now - timedelta(days=7)) == s2.id
    assert shops.last_visited_shop(tenant_id=tenant.id, member_id=visitor.id,
                                   since=now - timedelta(minutes=5)) is None


# ------------------------------------------------------------------ orders


def test_an_order_is_attributed_only_to_an_open_shop_of_the_tenant_showing_its_products(
        factory: Any, catalog: StandInCatalog) -> None:
    tenant, other = factory.tenant(), factory.tenant()
    owner = factory.member(tenant)
    tea, cup = catalog.add(tenant), catalog.add(tenant)
    shop = open_shop(tenant, owner, product_ids=[tea])
    foreign = open_shop(other, factory.member(other))

    got = shops.order_attribution(tenant_id=tenant.id, shop_id=shop.id, product_ids=[cup, tea])
    assert got == shops.ShopAttribution(shop_id=shop.id, owner_member_id=owner.id)
    assert shops.order_attribution(tenant_id=tenant.id, shop_id=shop.id, product_ids=[cup]) is None
    assert shops.order_attribution(tenant_id=tenant.id, shop_id=foreign.id, product_ids=[tea]) is None
    assert shops.order_attribution(tenant_id=tenant.id, shop_id=None, product_ids=[tea]) is None
    assert shops.order_attribution(tenant_id=tenant.id, shop_id=987654, product_ids=[tea]) is None
    with unit_of_work():
        shops.update_shop(tenant_id=tenant.id, member_id=owner.id, status="closed", now=utcnow())
    assert shops.order_attribution(tenant_id=tenant.id, shop_id=shop.id, product_ids=[tea]) is None


# ------------------------------------------------------------------ code and poster


def test_the_shop_code_is_a_mini_program_code_whose_scene_binds_and_is_fetched_once(
        factory: Any, sandbox: Any) -> None:
    tenant = factory.tenant()
    owner, visitor = factory.member(tenant), factory.member(tenant)
    shop = open_shop(tenant, owner)
    before = len([c for c in sandbox.wxa_codes if c["appid"] == tenant.mp_appid])

    png = shops.shop_qr(tenant_id=tenant.id, member_id=owner.id)
    [scene] = read_qr_texts(png)
    assert scene == f"i={owner.invite_code}&h={shop.id}"
    assert shops.shop_qr(tenant_id=tenant.id, member_id=owner.id) == png
    calls = [c for c in sandbox.wxa_codes if c["appid"] == tenant.mp_appid][before:]
    assert [(c["scene"], c["page"]) for c in calls] == [(scene, "pages/shop/index")]

    assert enter(tenant, visitor, scene).parent_id == owner.id


def test_a_tenant_without_a_mini_program_gets_a_plain_qr_of_the_share_link(factory: Any) -> None:
    with unit_of_work():
        tenant = create_tenant(slug="plainshop", name="无小程序品牌", actor="test")
    owner = factory.member(tenant)
    shop = open_shop(tenant, owner)
    [link] = read_qr_texts(shops.shop_qr(tenant_id=tenant.id, member_id=owner.id))
    parts = urlsplit(link)
    assert parts.path == "/s/plainshop"
    assert parse_qs(parts.query)["scene"] == [f"i={owner.invite_code}&h={shop.id}"]


def test_the_shop_poster_carries_the_shop_scene_and_rerenders_when_the_shop_changes(
        factory: Any) -> None:
    tenant = factory.tenant()
    owner, visitor = factory.member(tenant), factory.member(tenant)
    shop = open_shop(tenant, owner, intro="每周上新")
    first = posters.render_poster(tenant_id=tenant.id, member_id=owner.id, kind="shop",
                                  subject_id=shop.id)
    [scene] = read_qr_texts(first.png)
    assert scene == f"i={owner.invite_code}&h={shop.id}"
    assert posters.render_poster(tenant_id=tenant.id, member_id=owner.id, kind="shop",
                                 subject_id=shop.id).cached
    with unit_of_work():
        shops.update_shop(tenant_id=tenant.id, member_id=owner.id, name="改名了", now=utcnow())
    renamed = posters.render_poster(tenant_id=tenant.id, member_id=owner.id, kind="shop",
                                    subject_id=shop.id)
    assert not renamed.cached and renamed.etag != first.etag
    assert enter(tenant, visitor, scene).bind_status == "bound"


def test_a_poster_of_a_closed_or_foreign_shop_is_refused(factory: Any) -> None:
    tenant, other = factory.tenant(), factory.tenant()
    owner = factory.member(tenant)
    foreign = open_shop(other, factory.member(other))
    with pytest.raises(ShopNotFound):
        posters.render_poster(tenant_id=tenant.id, member_id=owner.id, kind="shop",
                              subject_id=foreign.id)
