"""The mini-program product list comes from Redis, keyed by tenant + catalog version +
the buyer's pricing: a catalog change shows on the next read; buyers priced
differently never share an entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from backend.catalog import cache
from backend.catalog.models import Product
from backend.extensions import db
from tests.orders_factories import RECEIVER

LIST = "/api/v1/mp/shop/products"


def _names(client: Any, headers: Any) -> list[str]:
    res = client.get(LIST, headers=headers)
    assert res.status_code == 200, res.json
    return [p["name"] for p in res.json["items"]]


def _first_sku(client: Any, headers: Any) -> dict[str, Any]:
    return client.get(LIST, headers=headers).json["items"][0]["skus"][0]


def test_the_list_is_served_from_the_cache_and_a_catalog_change_shows_on_the_next_read(
        client: Any, factory: Any, shop: Any) -> None:
    tenant = factory.tenant()
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    product_id, sku_id = shop.product(tenant, name="明前龙井", stock=10)
    buyer = factory.member_headers(factory.member(tenant))
    assert _names(client, buyer) == ["明前龙井"]

    # A write that bypasses the catalog's verbs is not seen: the read is the cached entry.
    db.session.execute(update(Product).where(Product.id == product_id).values(name="绕过"))
    db.session.commit()
    assert _names(client, buyer) == ["明前龙井"]

    # Every catalog write through the service is seen on the very next read.
    renamed = client.patch(f"/api/v1/admin/shop/products/{product_id}", headers=boss, json={"name": "雨前龙井"})
    assert renamed.status_code == 200, renamed.json
    assert _names(client, buyer) == ["雨前龙井"]
    assert client.post(f"/api/v1/admin/shop/skus/{sku_id}/stock", headers=boss, json={"delta": 5}).status_code == 200
    assert _first_sku(client, buyer)["stock"] == 15
    placed = client.post("/api/v1/mp/shop/orders", headers=buyer,
                         json={"items": [{"sku_id": sku_id, "quantity": 2}], "receiver": RECEIVER})
    assert placed.status_code == 201, placed.json
    assert _first_sku(client, buyer)["stock"] == 13  # an order's stock move shows too
    off = client.patch(f"/api/v1/admin/shop/products/{product_id}", headers=boss, json={"on_shelf": False})
    assert off.status_code == 200
    assert _names(client, buyer) == []


def test_buyers_priced_differently_never_share_an_entry(client: Any, factory: Any, shop: Any) -> None:
    tenant = factory.tenant()
    boss = factory.staff_headers(factory.staff(tenant, "boss"))
    shop.plan(tenant, {"name": "代理", "agents": {"mode": "fixed", "base": "profit", "levels": [
        {"key": "l1", "name": "一级代理", "rate": "10%"}]}})
    shop.product(tenant, price_fen=10_000, level_prices={"l1": 7_000})
    client.put("/api/v1/admin/member-levels", headers=boss,
               json={"levels": [{"level": 1, "name": "金卡会员", "discount_rate": "0.9"}]})
    plain, vip, agent = (factory.member(tenant) for _ in range(3))
    client.patch(f"/api/v1/admin/members/{vip.id}", json={"member_level": 1}, headers=boss)
    client.put(f"/api/v1/admin/rewards/members/{agent.id}/level", json={"agent_level": "l1"}, headers=boss)
    version = cache.version(tenant_id=tenant.id)
    for _ in range(2):  # the second round is all cache hits: each buyer still sees their own price
        assert _first_sku(client, factory.member_headers(plain))["price_fen"] == 10_000
        assert _first_sku(client, factory.member_headers(vip))["price_fen"] == 9_000
        assert _first_sku(client, factory.member_headers(agent))["price_fen"] == 7_000
    assert cache.version(tenant_id=tenant.id) == version  # reads never bump


def test_tenants_do_not_share_entries(client: Any, factory: Any, shop: Any) -> None:
    a, b = factory.tenant(), factory.tenant()
    shop.product(a, name="甲店商品")
    shop.product(b, name="乙店商品")
    assert _names(client, factory.member_headers(factory.member(a))) == ["甲店商品"]
    assert _names(client, factory.member_headers(factory.member(b))) == ["乙店商品"]


def test_a_redis_that_lost_its_keys_never_brings_back_a_page_from_a_process_memory(
        client: Any, factory: Any, shop: Any) -> None:
    from backend.extensions import get_redis

    tenant = factory.tenant()
    product_id, _ = shop.product(tenant, name="旧名")
    buyer = factory.member_headers(factory.member(tenant))
    assert _names(client, buyer) == ["旧名"]  # now in this process's memory too
    db.session.execute(update(Product).where(Product.id == product_id).values(name="新名"))
    db.session.commit()
    assert _names(client, buyer) == ["旧名"]  # same version: the remembered page
    get_redis().flushdb()  # Redis restarted empty: the version starts afresh, never at an old number
    assert _names(client, buyer) == ["新名"]


def test_a_process_keeps_a_page_no_longer_than_redis_would(client: Any, factory: Any, shop: Any,
                                                            monkeypatch: Any) -> None:
    from backend.extensions import get_redis

    tenant = factory.tenant()
    product_id, _ = shop.product(tenant, name="旧名")
    buyer = factory.member_headers(factory.member(tenant))
    assert _names(client, buyer) == ["旧名"]
    db.session.execute(update(Product).where(Product.id == product_id).values(name="新名"))
    db.session.commit()
    for key in get_redis().scan_iter("siyu:mp-products-json:*"):  # Redis's copy expired
        get_redis().delete(key)
    later = cache._clock() + cache.TTL_SECONDS + 1
    monkeypatch.setattr(cache, "_clock", lambda: later)  # … and so has the process's own
    assert _names(client, buyer) == ["新名"]
