"""The issue's bad inputs, each through HTTP: a clear Chinese error with a stable code,
and nothing changed (pieces, orders, money)."""

from __future__ import annotations

from datetime import timedelta

from backend.agents import service as agents
from backend.db import unit_of_work, utcnow

RECEIVER = {"name": "李四", "phone": "13900139000", "address": "浙江省杭州市西湖区文三路 1 号"}


def _chinese(resp):
    return any("\u4e00" <= ch <= "\u9fff" for ch in resp.json["message"])


def _expire(tenant, member):
    with unit_of_work():
        a = agents.find_authorization(tenant_id=tenant.id, member_id=member.id)
        a.valid_until = utcnow() - timedelta(days=1)


def test_a_suspended_agent_cannot_restock_transfer_pick_up_or_sell(client, factory, channel):
    tenant, product_id, sku_id = channel.brand()
    top, low = channel.agents_chain(tenant, ["l1", "l3"])
    channel.stock(tenant, top, sku_id, 5)
    channel.stored_value(tenant, top, 10_000)
    boss = factory.staff_headers(factory.staff(tenant, role="boss"))
    auth_id = client.get("/api/v1/admin/agents/authorizations", headers=boss).json["items"][0]["id"]
    s = client.post(f"/api/v1/admin/agents/authorizations/{auth_id}/suspend", json={"reason": "核查中"}, headers=boss)
    assert s.status_code == 200 and s.json["status"] == "suspended"
    h = factory.member_headers(top)
    answers = [
        client.post("/api/v1/mp/agent/restocks", headers=h,
                    json={"items": [{"sku_id": sku_id, "quantity": 1}], "source": "platform"}),
        client.post("/api/v1/mp/agent/transfers", headers=h, json={"to_member_id": low.id, "sku_id": sku_id,
                                                                   "pieces": 1, "client_token": "tok-sus-001"}),
        client.post("/api/v1/mp/agent/pickups", headers=h, json={"sku_id": sku_id, "pieces": 1,
                                                                 "client_token": "pick-sus-01", "receiver": RECEIVER}),
        client.post("/api/v1/mp/shop/orders", headers=factory.member_headers(factory.member(tenant)), json={
            "items": [{"sku_id": sku_id, "quantity": 1}], "source": {"type": "agent", "id": top.id},
            "receiver": RECEIVER}),
    ]
    for r in answers:
        assert (r.status_code, r.json["code"]) == (403, "authorization_inactive") and "暂停" in r.json["message"]
    assert channel.pieces(tenant, top, sku_id) == 5 and channel.pieces(tenant, low, sku_id) == 0
    with channel.app.app_context():
        assert channel.balances(tenant, top)["member_stored"] == 10_000
    assert client.get("/api/v1/mp/agent/restocks", headers=h).json["items"][0]["status"] == "paid"  # only the first
    assert len(client.get("/api/v1/mp/agent/restocks", headers=h).json["items"]) == 1


def test_an_expired_agent_cannot_pick_up_nor_receive_a_transfer(client, factory, channel):
    tenant, product_id, sku_id = channel.brand()
    top, low = channel.agents_chain(tenant, ["l1", "l3"])
    channel.stock(tenant, top, sku_id, 5)
    channel.stock(tenant, low, sku_id, 2)
    _expire(tenant, low)
    p = client.post("/api/v1/mp/agent/pickups", headers=factory.member_headers(low), json={
        "sku_id": sku_id, "pieces": 1, "client_token": "pick-exp-01", "receiver": RECEIVER})
    assert p.status_code == 403 and p.json["code"] == "authorization_expired" and "过期" in p.json["message"]
    t = client.post("/api/v1/mp/agent/transfers", headers=factory.member_headers(top), json={
        "to_member_id": low.id, "sku_id": sku_id, "pieces": 1, "client_token": "tok-exp-002"})
    assert t.status_code == 403 and t.json["code"] == "authorization_expired"
    assert channel.pieces(tenant, top, sku_id) == 5 and channel.pieces(tenant, low, sku_id) == 2


def test_selling_outside_the_authorized_products_or_regions_is_refused(client, factory, channel, shop):
    tenant, product_id, sku_id = channel.brand()
    other, other_sku = shop.product(tenant, name="碧螺春", stock=50)
    agent = factory.member(tenant)
    channel.authorize(tenant, agent, "l2")
    channel.stock(tenant, agent, sku_id, 3)
    channel.authorize(tenant, agent, "l2", product_ids=[product_id], regions=[{"province": "浙江省", "city": "杭州市"}])
    buyer = factory.member_headers(factory.member(tenant))

    def order(sku, address):
        return client.post("/api/v1/mp/shop/orders", headers=buyer, json={
            "items": [{"sku_id": sku, "quantity": 1}], "source": {"type": "agent", "id": agent.id},
            "receiver": {**RECEIVER, "address": address}})

    outside_product = order(other_sku, "浙江省杭州市西湖区 1 号")
    assert outside_product.status_code == 403 and outside_product.json["code"] == "product_not_authorized"
    assert "碧螺春" in outside_product.json["message"]
    outside_city = order(sku_id, "浙江省宁波市海曙区 1 号")
    assert outside_city.status_code == 403 and outside_city.json["code"] == "region_not_authorized"
    assert _chinese(outside_city)
    assert channel.pieces(tenant, agent, sku_id) == 3
    assert client.get("/api/v1/mp/shop/orders", headers=buyer).json["items"] == []
    inside = order(sku_id, "浙江省杭州市上城区 2 号")
    assert inside.status_code == 201 and channel.pieces(tenant, agent, sku_id) == 2


def test_restock_below_a_levels_minimum_and_unknown_scans_are_refused(client, factory, channel):
    tenant, product_id, sku_id = channel.brand(restock_limits={"l2": {"min_pieces": 5}})
    (agent,) = channel.agents_chain(tenant, ["l2"])
    r = client.post("/api/v1/mp/agent/restocks", headers=factory.member_headers(agent),
                    json={"items": [{"sku_id": sku_id, "quantity": 4}], "source": "platform"})
    assert r.status_code == 400 and r.json["code"] == "restock_limit_exceeded"
    assert "5–不限" in r.json["message"] and "本次 4 件" in r.json["message"]
    unknown = client.post("/api/v1/public/scan/00000000000000000000", json={"province": "浙江省"})
    assert unknown.status_code == 404 and unknown.json["code"] == "unknown_code" and _chinese(unknown)
    malformed = client.post("/api/v1/public/scan/%E5%81%87", json={})
    assert malformed.status_code == 404 and malformed.json["code"] == "unknown_code"
    with channel.app.app_context():
        from backend.catalog import service as catalog

        assert catalog.get_sku(tenant_id=tenant.id, sku_id=sku_id).stock == 1000


def test_a_suspension_shows_on_the_public_certificate_and_reinstating_restores_it(client, factory, channel):
    tenant, *_ = channel.brand()
    agent = factory.member(tenant)
    g = channel.authorize(tenant, agent, "l2")
    serial, auth_id = g["certificate"]["serial"], g["authorization"]["id"]
    boss = factory.staff_headers(factory.staff(tenant, role="boss"))
    client.post(f"/api/v1/admin/agents/authorizations/{auth_id}/suspend", json={"reason": "核查中"}, headers=boss)
    v = client.get(f"/api/v1/public/certificates/{serial}").json
    assert (v["status"], v["status_text"]) == ("suspended", "授权暂停中")
    assert "授权暂停中" in client.get(f"/verify/certificate/{serial}").text
    twice = client.post(f"/api/v1/admin/agents/authorizations/{auth_id}/suspend", json={"reason": "再次"},
                        headers=boss)
    assert twice.status_code == 409 and "暂停" in twice.json["message"]
    client.post(f"/api/v1/admin/agents/authorizations/{auth_id}/reinstate", json={"reason": "核查完毕"}, headers=boss)
    assert client.get(f"/api/v1/public/certificates/{serial}").json["status"] == "valid"
    audit = client.get("/api/v1/admin/audit?target_type=authorization", headers=boss).json["items"]
    assert {"agents.suspend", "agents.reinstate"} <= {a["action"] for a in audit}
