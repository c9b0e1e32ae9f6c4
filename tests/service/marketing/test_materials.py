"""The material library: the brand publishes, a promoter gets the copy with its own
link and scene and a poster, a friend bound through the link and the orders that friend
pays show up in the brand's figures; bad input changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.marketing.models import Material
from backend.orders.models import Order


@pytest.fixture(autouse=True)
def poster_cache_dir(app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setitem(app.config, "POSTER_CACHE_DIR", str(tmp_path / "posters"))
    return tmp_path / "posters"


def test_a_promoter_shares_a_material_and_the_brand_sees_what_it_brought(client, factory, shop):
    t = factory.tenant()
    product, sku = shop.product(t, price_fen=10000)
    sh = factory.staff_headers(factory.staff(t))
    resp = client.post("/api/v1/admin/marketing/materials", headers=sh, json={
        "kind": "copy", "title": "明前龙井上新", "category": "茶叶", "product_id": product,
        "body": "今年的明前龙井到了！{nickname}推荐，点这里下单：{link} 邀请码 {invite_code}"})
    assert resp.status_code == 201, resp.json
    mid = resp.json["id"]
    client.post("/api/v1/admin/marketing/materials", headers=sh, json={
        "kind": "image", "title": "茶园实拍", "category": "茶叶", "media_urls": ["https://mmbiz.qpic.cn/a.jpg"]})

    promoter = factory.member(t, nickname="小美")
    ph = factory.member_headers(promoter)
    library = client.get("/api/v1/mp/materials?category=茶叶", headers=ph).json["items"]
    assert [m["title"] for m in library] == ["茶园实拍", "明前龙井上新"]
    taken = client.post(f"/api/v1/mp/materials/{mid}/share", headers=ph).json
    scene = f"i={promoter.invite_code}&p={product}&m={mid}"
    assert taken["scene"] == scene
    assert parse_qs(urlsplit(taken["share_link"]).query)["scene"] == [scene]
    assert taken["body"] == (f"今年的明前龙井到了！小美推荐，点这里下单：{taken['share_link']} "
                             f"邀请码 {promoter.invite_code}")
    assert client.post(f"/api/v1/mp/materials/{mid}/download", headers=ph).status_code == 200
    poster = client.post(f"/api/v1/mp/materials/{mid}/poster", headers=ph)
    assert poster.status_code == 200 and poster.mimetype == "image/png"

    friend = factory.member(t)
    bound = client.post("/api/v1/mp/me/bind", headers=factory.member_headers(friend),
                        json={"source": "share", "scene": scene})
    assert bound.status_code == 200 and bound.json["parent_id"] == promoter.id
    order = shop.paid_order(t, friend, [(sku, 2)])

    stats = {m["id"]: m for m in client.get("/api/v1/admin/marketing/materials", headers=sh).json["items"]}
    assert {k: stats[mid][k] for k in ("downloads", "shares", "bindings", "orders", "gmv_fen")} == {
        "downloads": 2, "shares": 1, "bindings": 1, "orders": 1, "gmv_fen": 20000}
    assert db.session.get(Order, order.id).paid_fen == 20000


def test_bad_materials_are_refused_and_hidden_ones_are_gone_for_promoters(client, factory, shop):
    t, other = factory.tenant(), factory.tenant()
    foreign_product, _ = shop.product(other)
    sh = factory.staff_headers(factory.staff(t))
    cases = [
        ({"kind": "image", "title": "无图"}, "invalid_marketing_input"),
        ({"kind": "video", "title": "视频", "media_urls": ["http://insecure.example.com/v.mp4"]},
         "invalid_marketing_input"),
        ({"kind": "copy", "title": "空文案", "body": "  "}, "invalid_marketing_input"),
        ({"kind": "copy", "title": "别家商品", "body": "文案", "product_id": foreign_product}, "product_not_found"),
    ]
    for body, code in cases:
        resp = client.post("/api/v1/admin/marketing/materials", headers=sh, json=body)
        assert resp.json["code"] == code, body
    assert db.session.scalar(select(func.count()).select_from(Material)) == 0
    mid = client.post("/api/v1/admin/marketing/materials", headers=sh, json={
        "kind": "copy", "title": "文案", "body": "好茶"}).json["id"]
    client.post(f"/api/v1/admin/marketing/materials/{mid}/status", headers=sh, json={"status": "hidden"})
    ph = factory.member_headers(factory.member(t))
    assert client.get("/api/v1/mp/materials", headers=ph).json["items"] == []
    assert client.post(f"/api/v1/mp/materials/{mid}/share", headers=ph).json["code"] == "material_not_found"
