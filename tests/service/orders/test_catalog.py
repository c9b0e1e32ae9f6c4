"""Catalog: validation with every field named, level prices checked against the active
plan, stock changed atomically and never below zero, every operator change audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.catalog import service as catalog
from backend.catalog.errors import InvalidCatalogInput, ProductNotFound, StockWouldGoNegative
from backend.db import unit_of_work
from backend.extensions import db
from backend.flows import catalog as catalog_flow


def test_a_product_is_created_with_its_skus_and_audited(factory, shop):
    t = factory.tenant()
    with unit_of_work():
        p = catalog_flow.create_product(tenant_id=t.id, name="明前龙井", actor="staff:1", skus=[
            catalog.SkuSpec(name="250g", price_fen=12800, cost_fen=5000, stock=10),
            catalog.SkuSpec(name="500g", price_fen=23800, cost_fen=9000, stock=3)])
    skus = catalog.skus_of(tenant_id=t.id, product_ids=[p.id])[p.id]
    assert [(s.name, s.price_fen, s.cost_fen, s.stock) for s in skus] == [
        ("250g", 12800, 5000, 10), ("500g", 23800, 9000, 3)]
    assert not p.on_shelf
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.target_type == "product")) == \
        "catalog.product_create"


def test_invalid_products_name_every_bad_field(factory):
    t = factory.tenant()
    with pytest.raises(InvalidCatalogInput) as err, unit_of_work():
        catalog_flow.create_product(tenant_id=t.id, name="", actor="x", skus=[
            catalog.SkuSpec(name="a", price_fen=0, cost_fen=-1, stock=-2, level_prices={"l1": 0})])
    assert [d["field"] for d in err.value.details] == [
        "name", "skus[0].price_fen", "skus[0].cost_fen", "skus[0].stock", "skus[0].level_prices.l1"]


def test_checking_a_sku_with_level_prices_names_unknown_levels_instead_of_failing():
    # A supplier's price edit checks the SKU as it stands, level prices included.
    catalog.check_sku(tenant_id=1, spec=catalog.SkuSpec(name="250g", price_fen=100, cost_fen=50,
                                                        level_prices={"l1": 90}))
    with pytest.raises(InvalidCatalogInput) as err:
        catalog.check_sku(tenant_id=1, known_levels={"l2"}, spec=catalog.SkuSpec(
            name="250g", price_fen=100, cost_fen=50, level_prices={"l1": 90}))
    assert err.value.details == [{"field": "level_prices", "message": "方案中没有代理等级：l1"}]


def test_level_prices_and_permissions_must_name_levels_of_the_active_plan(factory, shop):
    t = factory.tenant()
    shop.plan(t, {"name": "代理", "agents": {"levels": [{"key": "l1", "name": "一级代理", "rate": "10%"}]}})
    with pytest.raises(InvalidCatalogInput) as err, unit_of_work():
        catalog_flow.create_product(tenant_id=t.id, name="茶", actor="x", allowed_levels=["l9"], skus=[
            catalog.SkuSpec(name="a", price_fen=100, level_prices={"l7": 90})])
    assert [d["message"] for d in err.value.details] == ["方案中没有代理等级：l7", "方案中没有代理等级：l9"]


def test_stock_is_adjusted_atomically_and_never_below_zero(factory, shop):
    t = factory.tenant()
    _, sku = shop.product(t, stock=3)
    with unit_of_work():
        assert catalog.adjust_stock(tenant_id=t.id, sku_id=sku, delta=7, actor="x").stock == 10
    with pytest.raises(StockWouldGoNegative), unit_of_work():
        catalog.adjust_stock(tenant_id=t.id, sku_id=sku, delta=-11, actor="x")
    with unit_of_work():
        assert catalog.adjust_stock(tenant_id=t.id, sku_id=sku, delta=-10, actor="x").stock == 0


def test_buyers_see_only_on_shelf_products_they_may_buy_at_their_price(factory, shop):
    t = factory.tenant()
    shop.plan(t, {"name": "代理", "agents": {"levels": [{"key": "l1", "name": "一级代理", "rate": "10%"}]}})
    open_id, _ = shop.product(t, price_fen=10000, level_prices={"l1": 8000}, name="公开")
    shop.product(t, on_shelf=False, name="下架")
    agents_only, _ = shop.product(t, allowed_levels=["l1"], name="代理专供")
    fan_view = catalog.browse_products(tenant_id=t.id, agent_level=None)
    agent_view = catalog.browse_products(tenant_id=t.id, agent_level="l1")
    assert [p.id for p in fan_view] == [open_id]
    assert [p.id for p in agent_view] == [open_id, agents_only]
    skus = catalog.skus_of(tenant_id=t.id, product_ids=[open_id])[open_id]
    view = catalog.product_buyer_view(fan_view[0], skus, agent_level="l1")
    assert view["skus"][0]["price_fen"] == 8000 and "cost_fen" not in view["skus"][0]


def test_another_tenants_product_is_not_found(factory, shop):
    t, other = factory.tenant(), factory.tenant()
    pid, _ = shop.product(other)
    with pytest.raises(ProductNotFound):
        catalog.get_product(tenant_id=t.id, product_id=pid)


def test_the_demo_products_can_be_bought_at_agent_prices(factory, shop):
    from backend.catalog import demo

    t = factory.tenant()
    with unit_of_work():
        demo.seed(t)
    names = [p.name for p in catalog.browse_products(tenant_id=t.id, agent_level=None)]
    assert names == ["明前龙井", "紫砂品茗杯"]
    agent_names = [p.name for p in catalog.browse_products(tenant_id=t.id, agent_level="l2")]
    assert agent_names == ["明前龙井", "代理进货装 · 龙井 10 罐", "紫砂品茗杯"]
    tea = catalog.skus_of(tenant_id=t.id, product_ids=[catalog.browse_products(tenant_id=t.id, agent_level=None)[0].id])
    assert [catalog.unit_price(s, "l2") for s in next(iter(tea.values()))] == [7800, 23800]
