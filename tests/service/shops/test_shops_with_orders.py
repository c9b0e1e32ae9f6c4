"""Shops against the real catalog and orders: picking catalog products, and the shop's
paid orders and sales counted from orders attributed to it."""

from __future__ import annotations

from typing import Any

import pytest

from backend.db import unit_of_work, utcnow
from backend.shops import service as shops
from backend.shops.errors import ProductUnavailable
from tests.orders_factories import OrdersFactory
from tests.shops_factories import open_shop


@pytest.fixture()
def orders(app: Any, sandbox: Any) -> OrdersFactory:
    return OrdersFactory(app, sandbox)


def test_a_shop_shows_catalog_products_at_their_lowest_price_and_hides_ones_off_the_shelf(
        factory: Any, orders: OrdersFactory) -> None:
    from backend.catalog import service as catalog
    from backend.flows import catalog as catalog_flow

    tenant = factory.tenant()
    owner = factory.member(tenant)
    tea, _ = orders.product(tenant, name="明前龙井", price_fen=19900)
    cup, _ = orders.product(tenant, name="青瓷杯", price_fen=3900)
    hidden, _ = orders.product(tenant, name="未上架", on_shelf=False)
    with unit_of_work():
        catalog_flow.add_sku(tenant_id=tenant.id, product_id=tea, actor="test",
                        spec=catalog.SkuSpec(name="50g 尝鲜", price_fen=4900, cost_fen=2000, stock=5))
    shop = open_shop(tenant, owner)
    with pytest.raises(ProductUnavailable), unit_of_work():
        shops.set_products(tenant_id=tenant.id, member_id=owner.id, product_ids=[tea, hidden],
                           now=utcnow())
    with unit_of_work():
        shops.set_products(tenant_id=tenant.id, member_id=owner.id, product_ids=[cup, tea],
                           now=utcnow())
    page = shops.shop_page(tenant_id=tenant.id, shop_id=shop.id)
    assert [(p["title"], p["price_fen"]) for p in page["products"]] == [("青瓷杯", 3900),
                                                                        ("明前龙井", 4900)]
    with unit_of_work():
        catalog_flow.update_product(tenant_id=tenant.id, product_id=cup, changes={"on_shelf": False},
                               actor="test")
    page = shops.shop_page(tenant_id=tenant.id, shop_id=shop.id)
    assert [p["title"] for p in page["products"]] == ["明前龙井"]


def test_paid_orders_attributed_to_a_shop_count_in_its_numbers(
        factory: Any, orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    owner, buyer = factory.member(tenant), factory.member(tenant)
    tea, tea_sku = orders.product(tenant, price_fen=12900)
    cup, cup_sku = orders.product(tenant, price_fen=3900)
    shop = open_shop(tenant, owner, product_ids=[tea])

    attribution = shops.order_attribution(tenant_id=tenant.id, shop_id=shop.id, product_ids=[tea, cup])
    assert attribution == shops.ShopAttribution(shop_id=shop.id, owner_member_id=owner.id)
    orders.paid_order(tenant, buyer, [(tea_sku, 2), (cup_sku, 1)], source_type="shop",
                      source_id=shop.id)
    orders.paid_order(tenant, buyer, [(cup_sku, 1)])  # bought outside the shop
    orders.order(tenant, buyer, [(tea_sku, 1)], source_type="shop", source_id=shop.id)  # unpaid
    stats = shops.shop_stats(tenant_id=tenant.id, shop_ids=[shop.id])[shop.id]
    assert (stats["orders"], stats["sales_fen"]) == (1, 2 * 12900 + 3900)


def test_an_order_naming_a_shop_that_does_not_show_its_products_stays_unattributed(
        factory: Any, orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    owner, buyer = factory.member(tenant), factory.member(tenant)
    tea, tea_sku = orders.product(tenant, price_fen=12900)
    cup, cup_sku = orders.product(tenant, price_fen=3900)
    shop = open_shop(tenant, owner, product_ids=[tea])
    order = orders.order(tenant, buyer, [(cup_sku, 1)], source_type="shop", source_id=shop.id)
    assert (order.source_type, order.source_id) == (None, None)
    shown = orders.order(tenant, buyer, [(tea_sku, 1)], source_type="shop", source_id=shop.id)
    assert (shown.source_type, shown.source_id) == ("shop", shop.id)


def test_an_agent_only_product_cannot_go_into_a_shop_whose_visitors_may_not_buy_it(
        client: Any, factory: Any, orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    owner = factory.member(tenant)
    tea, _ = orders.product(tenant, name="明前龙井")
    agents_only, _ = orders.product(tenant, name="代理专供礼盒", allowed_levels=["l1", "l2"])
    open_shop(tenant, owner)
    resp = client.put("/api/v1/mp/my-shop/products", json={"product_ids": [tea, agents_only]},
                      headers=factory.member_headers(owner))
    assert (resp.status_code, resp.json["code"]) == (400, "shop_product_restricted")
    assert resp.json["details"] == {"product_ids": [agents_only]}
    assert "代理专属" in resp.json["message"]
    page = shops.shop_page(tenant_id=tenant.id, shop_id=shops.my_shop(
        tenant_id=tenant.id, member_id=owner.id).id)
    assert page["products"] == []  # nothing changed
