"""The demo seeds of shops and SCRM run on a fresh tenant and leave usable data."""

from __future__ import annotations

from typing import Any

from backend.db import unit_of_work
from backend.shops import service as shops


def test_the_demo_tenant_gets_a_stocked_shop_a_sales_account_tags_rules_and_customers(
        factory: Any) -> None:
    from backend.catalog import demo as catalog_demo
    from backend.scrm import demo as scrm_demo
    from backend.scrm import service as scrm
    from backend.scrm import tags as tagging
    from backend.shops import demo as shops_demo
    from backend.staff.service import authenticate

    tenant = factory.tenant()
    alice = factory.member(tenant, nickname="爱丽丝")
    with unit_of_work():
        catalog_demo.seed(tenant)
        scrm_demo.seed(tenant)
        shops_demo.seed(tenant)
    shop = shops.my_shop(tenant_id=tenant.id, member_id=alice.id)
    page = shops.shop_page(tenant_id=tenant.id, shop_id=shop.id)
    from backend.catalog.service import list_products

    open_to_all = [p.name for p in list_products(tenant_id=tenant.id, on_shelf=True)
                   if p.allowed_levels is None]
    assert len(open_to_all) >= 1
    assert [p["title"] for p in page["products"]] == open_to_all
    sales = authenticate(tenant_id=tenant.id, username="sales", password="demo1234")
    customers = scrm.list_customers(tenant_id=tenant.id, staff_id=sales.id)
    assert [c.name for c in customers] == ["陈女士", "刘先生"]
    card = scrm.customer_card(tenant_id=tenant.id, staff_id=sales.id, customer_id=customers[0].id)
    assert card["tag_groups"] == [{"group": "客户等级", "tags": ["A类"]},
                                  {"group": "来源", "tags": ["门店客户"]},
                                  {"group": "意向", "tags": ["高意向"]}]
    assert [r["note"] for r in card["reminders"]] == ["礼盒到货后告诉陈女士"]
    assert len(tagging.list_tag_rules(tenant_id=tenant.id)) == 5
