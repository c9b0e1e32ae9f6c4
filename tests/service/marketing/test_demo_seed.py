"""The demo tenant's marketing and live room, as a newcomer opens them: 爱丽丝 sees her
coupon and points at checkout, the group-buy and materials are there, the live room is
on with the tea at its live price."""

from __future__ import annotations

from typing import Any

from backend.demo import DEMO_SLUG, seed_demo


def test_the_demo_has_coupons_points_a_group_buy_materials_and_a_live_room(app: Any, client: Any) -> None:
    seed_demo(public_base_url="http://localhost")
    login = client.post("/api/v1/mp/login", json={"tenant": DEMO_SLUG, "code": "demo-alice"}).get_json()
    h = {"Authorization": f"Bearer {login['token']}"}
    # 3,000 given, 10 for each of the two members her shares brought (小波, 阿福)
    assert client.get("/api/v1/mp/me/points", headers=h).get_json()["balance"] == 3020
    assert [c["name"] for c in client.get("/api/v1/mp/coupons", headers=h).get_json()["items"]] == [
        "茶叶85折", "包邮券", "满100减30"]
    [campaign] = client.get("/api/v1/mp/group-buys", headers=h).get_json()["items"]
    quote = client.post("/api/v1/mp/checkout/quote", headers=h, json={
        "items": [{"sku_id": campaign["sku_id"], "quantity": 2}], "points": 1000}).get_json()
    # 爱丽丝 is an agent: she pays her level's price, 2 × 68 yuan, enough for 满100减30.
    assert (quote["goods_fen"], quote["coupon"]["name"], quote["coupon_fen"], quote["payable_fen"]) == (
        13600, "满100减30", 3000, 13600 - 3000 - 1000)
    assert quote["freight_fen"] == 0  # 满 99 包邮
    one = client.post("/api/v1/mp/checkout/quote", headers=h, json={
        "items": [{"sku_id": campaign["sku_id"], "quantity": 1}], "address": "新疆喀什"}).get_json()
    assert (one["goods_fen"], one["freight_fen"], one["payable_fen"]) == (6800, 2000, 8800)
    library = client.get("/api/v1/mp/materials", headers=h).get_json()["items"]
    assert any("/s/demo?scene=" in m["body"] for m in library)
    [room] = client.get("/api/v1/mp/live/rooms", headers=h).get_json()["items"]
    page = client.post(f"/api/v1/mp/live/rooms/{room['id']}/enter", headers=h, json={}).get_json()
    assert page["status"] == "live" and page["products"][0]["explaining"] is True
    assert page["products"][0]["live_price_fen"] == 12800 * 8 // 10
    # A member who joins now gets the new-member gift.
    newcomer = client.post("/api/v1/mp/login", json={"tenant": DEMO_SLUG, "code": "demo-newcomer"}).get_json()
    mine = client.get("/api/v1/mp/me/coupons", headers={"Authorization": f"Bearer {newcomer['token']}"}).get_json()
    assert [c["name"] for c in mine["items"]] == ["新人立减10元"]
