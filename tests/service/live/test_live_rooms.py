"""Live rooms end to end: a room with a checked pulled stream, products at live prices
and the one explained now; a viewer enters through a promoter's share (bound, source
live_room), buys in the room, the order is attributed to room and sharer and pays the
plan's rewards; the room's figures; the live poster; WeChat live rooms synced."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from backend.db import utcnow
from backend.extensions import db
from backend.live.models import LiveOrder, LiveRoom
from backend.members.models import Binding
from backend.orders.models import Order
from backend.rewards.models import Payout
from tests.orders_factories import RECEIVER


def _room(client: Any, sh: dict[str, str], **extra: Any) -> Any:
    return client.post("/api/v1/admin/live/rooms", headers=sh, json={
        "title": "明前龙井开采直播", "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "stream_url": "https://pull-hls-f1.douyincdn.com/stage/tea.m3u8", "host_name": "茶艺师小林",
        "cover_url": "https://mmbiz.qpic.cn/live/cover.jpg", **extra})


def test_a_shared_room_binds_its_viewer_who_buys_at_the_live_price_and_the_sharer_is_paid(client, factory, shop):
    t = factory.tenant()
    shop.plan(t)
    promoter, viewer = factory.member(t), factory.member(t)
    product, sku = shop.product(t, price_fen=10000, cost_fen=4000)
    sh = factory.staff_headers(factory.staff(t))
    resp = _room(client, sh)
    assert resp.status_code == 201, resp.json
    room = resp.json
    assert room["stream"] == {"kind": "pull", "url": "https://pull-hls-f1.douyincdn.com/stage/tea.m3u8",
                              "platform": "douyin", "format": "hls", "wx_room_id": None, "replay_url": None}
    page = client.put(f"/api/v1/admin/live/rooms/{room['id']}/products", headers=sh,
                      json={"items": [{"sku_id": sku, "live_price_fen": 8000}]}).json
    assert page["products"][0]["live_price_fen"] == 8000
    page = client.post(f"/api/v1/admin/live/rooms/{room['id']}/explaining", headers=sh,
                       json={"product_id": product}).json
    assert page["explaining_product_id"] == product and page["products"][0]["explaining"] is True

    vh = factory.member_headers(viewer)
    early = client.post(f"/api/v1/mp/live/rooms/{room['id']}/orders", headers=vh, json={
        "items": [{"sku_id": sku, "quantity": 1}], "receiver": RECEIVER})
    assert (early.status_code, early.json["code"]) == (409, "live_room_closed")
    assert client.patch(f"/api/v1/admin/live/rooms/{room['id']}", headers=sh,
                        json={"status": "live"}).json["status"] == "live"

    scene = f"i={promoter.invite_code}&r={room['id']}"
    entered = client.post(f"/api/v1/mp/live/rooms/{room['id']}/enter", headers=vh, json={"scene": scene})
    assert entered.status_code == 200 and entered.json["bind_status"] == "bound"
    assert db.session.scalar(select(Binding.source).where(Binding.member_id == viewer.id)) == "live_room"

    # The room's quote shows the live price the order then charges; the shop's quote does not.
    in_room = client.post(f"/api/v1/mp/live/rooms/{room['id']}/quote", headers=vh,
                          json={"items": [{"sku_id": sku, "quantity": 2}]})
    assert in_room.status_code == 200, in_room.json
    assert (in_room.json["goods_fen"], in_room.json["payable_fen"]) == (16000, 16000)
    assert client.post("/api/v1/mp/checkout/quote", headers=vh,
                       json={"items": [{"sku_id": sku, "quantity": 2}]}).json["goods_fen"] == 20000
    bought = client.post(f"/api/v1/mp/live/rooms/{room['id']}/orders", headers=vh, json={
        "items": [{"sku_id": sku, "quantity": 2}], "receiver": RECEIVER})
    assert bought.status_code == 201, bought.json
    assert bought.json["payable_fen"] == in_room.json["payable_fen"] == 16000 and bought.json["source"] == {"type": "live", "id": room["id"]}
    order = db.session.get(Order, bought.json["id"])
    (d,) = shop.deliver(shop.payment(t, viewer, order))
    assert d.result.status_code == 204
    assert db.session.scalar(select(LiveOrder.sharer_id).where(LiveOrder.order_id == order.id)) == promoter.id
    paid = db.session.scalar(select(func.sum(Payout.amount_fen)).where(Payout.order_id == order.id,
                                                                       Payout.beneficiary_id == promoter.id))
    assert paid == (16000 - 8000) * 30 // 100  # 30% of the profit at the live price

    stats = client.get(f"/api/v1/admin/live/rooms/{room['id']}/stats", headers=sh).json
    assert stats == {"room_id": room["id"], "viewers": 1, "new_bindings": 1, "orders": 1, "gmv_fen": 16000,
                     "rewards_fen": paid, "sharers": [{"member_id": promoter.id, "orders": 1, "gmv_fen": 16000,
                                                       "rewards_fen": paid}]}

    other = factory.member(t)
    cup = shop.product(t, name="茶杯")[1]
    not_here = client.post(f"/api/v1/mp/live/rooms/{room['id']}/quote", headers=factory.member_headers(other),
                           json={"items": [{"sku_id": cup, "quantity": 1}]})
    assert (not_here.status_code, not_here.json["code"]) == (409, "live_product_not_in_room")
    wrong = client.post(f"/api/v1/mp/live/rooms/{room['id']}/orders", headers=factory.member_headers(other), json={
        "items": [{"sku_id": cup, "quantity": 1}], "receiver": RECEIVER})
    assert (wrong.status_code, wrong.json["code"], wrong.json["message"]) == (409, "live_product_not_in_room",
                                                                              "该商品不在本直播间")


def test_the_live_poster_carries_the_room_and_the_members_code(client, factory, shop, sandbox):
    t = factory.tenant()
    member = factory.member(t)
    sh = factory.staff_headers(factory.staff(t))
    room = _room(client, sh).json
    before = len([c for c in sandbox.wxa_codes if c["appid"] == t.mp_appid])  # the sandbox serves the session
    resp = client.get(f"/api/v1/mp/posters/live?subject_id={room['id']}", headers=factory.member_headers(member))
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    [code] = [c for c in sandbox.wxa_codes if c["appid"] == t.mp_appid][before:]
    assert code["scene"] == f"i={member.invite_code}&r={room['id']}" and code["page"] == "pages/live/room"
    missing = client.get("/api/v1/mp/posters/live?subject_id=999999", headers=factory.member_headers(member))
    assert missing.json["code"] == "live_room_not_found"


def test_a_stream_at_a_private_address_is_refused_and_nothing_is_created(client, factory, dns):
    t = factory.tenant()
    sh = factory.staff_headers(factory.staff(t))
    dns["rebind.example.com"] = ["10.0.0.7"]
    cases = {
        "https://169.254.169.254/latest/meta-data": "直播流地址不能指向内网、本机或保留地址",
        "http://127.0.0.1:5080/api/v1/": "直播流地址不能指向内网、本机或保留地址",
        "https://rebind.example.com/live.m3u8": "直播流地址不能指向内网、本机或保留地址",
        "gopher://cdn.example.com/x": "直播流地址须以 https://、http:// 或 rtmp:// 开头",
        "https://localhost/live.flv": "直播流地址不能指向内网或本机",
    }
    for url, message in cases.items():
        resp = _room(client, sh, stream_url=url)
        assert (resp.status_code, resp.json["code"], resp.json["message"]) == (400, "invalid_stream_url", message)
    room = _room(client, sh).json
    resp = client.patch(f"/api/v1/admin/live/rooms/{room['id']}", headers=sh,
                        json={"stream_url": "https://10.1.1.1/x.m3u8"})
    assert resp.json["code"] == "invalid_stream_url"
    assert db.session.scalar(select(func.count()).select_from(LiveRoom)) == 1
    assert db.session.get(LiveRoom, room["id"]).stream_url == "https://pull-hls-f1.douyincdn.com/stage/tea.m3u8"


def test_wechat_live_rooms_are_synced_through_the_wechat_api(client, factory, sandbox):
    t = factory.tenant()
    sh = factory.staff_headers(factory.staff(t))
    assert client.post("/api/v1/admin/live/wechat-sync", headers=sh).json == {"items": []}  # errcode 1: none yet
    rid = sandbox.add_live_room(t.mp_appid, name="新茶品鉴会", anchor_name="小林", live_status=102)
    rooms = client.post("/api/v1/admin/live/wechat-sync", headers=sh).json["items"]
    assert [(r["title"], r["status"], r["stream"]["kind"], r["stream"]["wx_room_id"]) for r in rooms] == [
        ("新茶品鉴会", "upcoming", "wechat", rid)]
    sandbox.set_live_status(t.mp_appid, rid, 101)
    rooms = client.post("/api/v1/admin/live/wechat-sync", headers=sh).json["items"]
    assert [r["status"] for r in rooms] == ["live"]
    sandbox.set_live_status(t.mp_appid, rid, 103)
    assert [r["status"] for r in client.post("/api/v1/admin/live/wechat-sync", headers=sh).json["items"]] == ["ended"]
    sandbox.add_live_replay(t.mp_appid, rid, "https://mmbiz.qpic.cn/replay/1.mp4")
    [room] = client.post("/api/v1/admin/live/wechat-sync", headers=sh).json["items"]
    assert (room["status"], room["stream"]["replay_url"]) == ("replay", "https://mmbiz.qpic.cn/replay/1.mp4")
    assert db.session.scalar(select(func.count()).select_from(LiveRoom)) == 1
