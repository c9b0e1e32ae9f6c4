"""Real threads against MariaDB: a shop opened twice at once is one shop; visits racing in
are all counted on one row; racing product edits leave one whole list."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backend.db import utcnow
from backend.extensions import db
from backend.shops import service as shops
from backend.shops.models import Shop, ShopItem, ShopVisit
from tests.service.scrm.test_concurrency import race
from tests.shops_factories import StandInCatalog, open_shop

pytestmark = pytest.mark.mariadb


def test_opening_a_shop_eight_times_at_once_opens_one(app: Any, factory: Any) -> None:
    tenant = factory.tenant()
    owner_id, tid = factory.member(tenant).id, tenant.id
    outcomes = race(app, [(lambda i=i: shops.open_shop(tenant_id=tid, member_id=owner_id,
                                                       name=f"小店{i}", now=utcnow()).id)
                          for i in range(8)])
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["shop_already_open"] * 7, outcomes
    assert len(db.session.scalars(select(Shop.id).where(Shop.owner_member_id == owner_id)).all()) == 1


def test_ten_visits_racing_in_are_all_counted_on_one_row(app: Any, factory: Any) -> None:
    tenant = factory.tenant()
    owner, visitor = factory.member(tenant), factory.member(tenant)
    shop = open_shop(tenant, owner)
    scene, tid, vid = shops.shop_scene(shop=shop, owner=owner), tenant.id, visitor.id
    outcomes = race(app, [(lambda: shops.enter_shop(tenant_id=tid, member_id=vid, scene=scene,
                                                    now=utcnow()).bind_status) for _ in range(10)])
    assert sorted(outcomes) == ["bound"] + ["unchanged"] * 9, outcomes
    [visit] = db.session.scalars(select(ShopVisit).where(ShopVisit.shop_id == shop.id))
    assert (visit.member_id, visit.visits, visit.bound_at is not None) == (vid, 10, True)


def test_racing_product_lists_leave_one_whole_list(app: Any, factory: Any,
                                                  catalog: StandInCatalog) -> None:
    tenant = factory.tenant()
    owner = factory.member(tenant)
    products = [catalog.add(tenant) for _ in range(12)]
    shop = open_shop(tenant, owner)
    lists = [products[i:i + 6] for i in range(0, 7, 2)]  # overlapping lists of six
    tid, oid = tenant.id, owner.id
    outcomes = race(app, [(lambda ids=ids: len(shops.set_products(
        tenant_id=tid, member_id=oid, product_ids=ids, now=utcnow()))) for ids in lists])
    assert outcomes == [6] * 4, outcomes
    final = list(db.session.scalars(select(ShopItem.product_id).where(ShopItem.shop_id == shop.id)
                                    .order_by(ShopItem.position)))
    assert final in lists
