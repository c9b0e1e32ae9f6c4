"""A member's product poster (商品海报) comes from the real catalog: the product's name
and price on the picture, a code that binds to the member and opens the product."""

from __future__ import annotations

from typing import Any

import pytest

from backend.db import unit_of_work
from backend.flows import catalog as catalog_flow
from tests.orders_factories import OrdersFactory
from tests.unit.posters.conftest import read_qr_texts


@pytest.fixture()
def orders(app: Any, sandbox: Any) -> OrdersFactory:
    return OrdersFactory(app, sandbox)


@pytest.fixture(autouse=True)
def poster_cache_dir(app: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "POSTER_CACHE_DIR", str(tmp_path / "posters"))


def test_a_member_gets_a_poster_of_a_catalog_product(client: Any, factory: Any,
                                                     orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant)
    product_id, _ = orders.product(tenant, price_fen=12900)
    resp = client.get(f"/api/v1/mp/posters/product?subject_id={product_id}",
                      headers=factory.member_headers(member))
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert read_qr_texts(resp.data) == [f"i={member.invite_code}&p={product_id}"]


def test_a_price_change_gives_a_new_product_poster(client: Any, factory: Any,
                                                   orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    headers = factory.member_headers(factory.member(tenant))
    product_id, sku_id = orders.product(tenant, price_fen=12900)
    url = f"/api/v1/mp/posters/product?subject_id={product_id}"
    before = client.get(url, headers=headers)
    with unit_of_work():
        catalog_flow.update_sku(tenant_id=tenant.id, sku_id=sku_id, changes={"price_fen": 9900}, actor="test")
    after = client.get(url, headers=headers)
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"] and after.data != before.data


def test_off_shelf_and_foreign_products_have_no_poster(client: Any, factory: Any,
                                                       orders: OrdersFactory) -> None:
    tenant, other = factory.tenant(), factory.tenant()
    headers = factory.member_headers(factory.member(tenant))
    hidden, _ = orders.product(tenant, on_shelf=False)
    foreign, _ = orders.product(other)
    for product_id in (hidden, foreign):
        resp = client.get(f"/api/v1/mp/posters/product?subject_id={product_id}", headers=headers)
        assert (resp.status_code, resp.json["code"]) == (404, "product_not_found")
