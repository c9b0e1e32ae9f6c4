"""The agent channel end to end through HTTP: applications and authorization,
certificates and their public verification, restock (platform and upline, WeChat Pay
and stored value), transfers, pickups, and the bad inputs that change nothing."""

from __future__ import annotations

from backend.db import unit_of_work
from tests.agents_factories import ZHEJIANG

APPLY = {"level": "l2", "real_name": "王小明", "id_number": "33010219900101123X", "phone": "13800138000",
         "province": "浙江省", "city": "杭州市", "images": ["https://img.example.com/id-front.jpg"]}


def _staff(factory, tenant):
    return factory.staff_headers(factory.staff(tenant, role="boss"))


def test_hq_approves_an_application_granting_level_authorization_and_a_verifiable_certificate(client, factory,
                                                                                                 channel):
    tenant, product_id, sku_id = channel.brand()
    m = factory.member(tenant)
    r = client.post("/api/v1/mp/agent/applications", json=APPLY, headers=factory.member_headers(m))
    assert r.status_code == 201, r.json
    assert r.json["status"] == "pending" and r.json["reviewer"] == "hq"
    again = client.post("/api/v1/mp/agent/applications", json=APPLY, headers=factory.member_headers(m))
    assert again.status_code == 409 and again.json["code"] == "application_pending"

    boss = _staff(factory, tenant)
    ok = client.post(f"/api/v1/admin/agents/applications/{r.json['id']}/approve", json={}, headers=boss)
    assert ok.status_code == 200, ok.json
    assert ok.json["authorization"]["level"] == "l2"
    assert ok.json["authorization"]["regions"] == [{"province": "浙江省", "city": "杭州市"}]
    assert ok.json["authorization"]["holder_name"] == "王小明"
    serial = ok.json["certificate"]["serial"]
    me = client.get("/api/v1/members/me", headers=factory.member_headers(m))
    if me.status_code == 200:
        assert me.json.get("agent_level", "l2") == "l2"

    v = client.get(f"/api/v1/public/certificates/{serial}")
    assert v.status_code == 200
    assert (v.json["holder_name"], v.json["level_name"], v.json["status"]) == ("王小明", "二级代理", "valid")
    page = client.get(f"/verify/certificate/{serial}")
    assert page.status_code == 200 and "证书有效" in page.text and "王小明" in page.text
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    forged = client.get("/verify/certificate/ACFORGED12345")
    assert forged.status_code == 404 and "伪造" in forged.text
    assert client.get("/api/v1/public/certificates/ACFORGED12345").json["code"] == "certificate_not_found"

    cert_id = ok.json["certificate"]["id"]
    png = client.get(f"/api/v1/mp/agent/certificates/{cert_id}/image", headers=factory.member_headers(m))
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    other = factory.member(tenant)
    assert client.get(f"/api/v1/mp/agent/certificates/{cert_id}/image",
                      headers=factory.member_headers(other)).status_code == 404

    auth_id = ok.json["authorization"]["id"]
    rv = client.post(f"/api/v1/admin/agents/authorizations/{auth_id}/revoke", json={"reason": "违规"}, headers=boss)
    assert rv.status_code == 200 and rv.json["status"] == "revoked"
    assert client.get(f"/api/v1/public/certificates/{serial}").json["status"] == "revoked"
    assert "已撤销" in client.get(f"/verify/certificate/{serial}").text


def test_upline_reviews_its_downlines_application_when_the_tenant_says_so(client, factory, channel):
    tenant, *_ = channel.brand(review_by="upline")
    top = factory.member(tenant)
    channel.authorize(tenant, top, "l1")
    m = factory.member(tenant, parent=top)
    r = client.post("/api/v1/mp/agent/applications", json=APPLY, headers=factory.member_headers(m))
    assert r.json["reviewer"] == "upline" and r.json["reviewer_id"] == top.id
    stranger = factory.member(tenant)
    refused = client.post(f"/api/v1/mp/agent/reviews/{r.json['id']}/reject", json={"reason": "资料不全"},
                          headers=factory.member_headers(stranger))
    assert refused.status_code == 403 and refused.json["code"] == "not_your_review"
    waiting = client.get("/api/v1/mp/agent/reviews", headers=factory.member_headers(top)).json["items"]
    assert [a["id"] for a in waiting] == [r.json["id"]] and "*" in waiting[0]["id_number"]
    no_reason = client.post(f"/api/v1/mp/agent/reviews/{r.json['id']}/reject", json={},
                            headers=factory.member_headers(top))
    assert no_reason.status_code == 400
    rej = client.post(f"/api/v1/mp/agent/reviews/{r.json['id']}/reject", json={"reason": "资料不全"},
                      headers=factory.member_headers(top))
    assert rej.status_code == 200 and rej.json["application"]["status"] == "rejected"
    mine = client.get("/api/v1/mp/agent/applications", headers=factory.member_headers(m)).json["items"]
    assert mine[0]["reason"] == "资料不全"
    from backend.notifications import service as notifications

    with channel.app.app_context():
        to_top = [o.payload["text"] for o in notifications.list_outbox(tenant_id=tenant.id, member_id=top.id)
                  if o.kind == "agent"]
        to_m = [o.payload["text"] for o in notifications.list_outbox(tenant_id=tenant.id, member_id=m.id)
                if o.kind == "agent"]
    assert to_top == ["团队成员 王小明 申请成为二级代理，请在代理中心审核。"]
    assert to_m == ["您申请的二级代理未通过审核，原因：资料不全"]


def test_restock_from_the_platform_paid_with_stored_value_fills_the_cloud_stock(client, factory, channel):
    tenant, product_id, sku_id = channel.brand()
    (agent,) = channel.agents_chain(tenant, ["l2"])
    channel.stored_value(tenant, agent, 100_000)
    h = factory.member_headers(agent)
    r = client.post("/api/v1/mp/agent/restocks", json={"items": [{"sku_id": sku_id, "quantity": 10}],
                                                       "source": "platform"}, headers=h)
    assert r.status_code == 201, r.json
    assert r.json["amount_fen"] == 60_000 and r.json["supplier"] == "platform"  # l2 price 60.00 × 10
    paid = client.post(f"/api/v1/mp/agent/restocks/{r.json['id']}/pay-stored", headers=h)
    assert paid.status_code == 200, paid.json
    assert client.get("/api/v1/mp/agent/stock", headers=h).json["items"] == [{"sku_id": sku_id, "pieces": 10}]
    assert client.get(f"/api/v1/mp/agent/restocks/{r.json['id']}", headers=h).json["status"] == "paid"
    with channel.app.app_context():
        assert channel.balances(tenant, agent)["member_stored"] == 40_000
        from backend.catalog import service as catalog

        assert catalog.get_sku(tenant_id=tenant.id, sku_id=sku_id).stock == 990  # left the brand's stock
    again = client.post(f"/api/v1/mp/agent/restocks/{r.json['id']}/pay-stored", headers=h)
    assert again.status_code == 409
    assert channel.pieces(tenant, agent, sku_id) == 10
    refund = client.post(f"/api/v1/mp/shop/orders/{r.json['order_id']}/refunds", json={"reason": "不要了"}, headers=h)
    assert refund.status_code == 409 and refund.json["code"] == "restock_not_refundable"


def test_restock_placed_and_paid_with_stored_value_in_one_request(client, factory, channel):
    tenant, product_id, sku_id = channel.brand(settlement_mode="upline")
    top, mid = channel.agents_chain(tenant, ["l1", "l2"])
    channel.stock(tenant, top, sku_id, 25)
    channel.stored_value(tenant, mid, 100_000)
    h = factory.member_headers(mid)
    body = {"items": [{"sku_id": sku_id, "quantity": 10}], "source": "upline", "pay": "stored"}
    r = client.post("/api/v1/mp/agent/restocks", json=body, headers=h)
    assert r.status_code == 201, r.json
    assert (r.json["amount_fen"], r.json["paid_via"]) == (60_000, "stored")
    assert client.get(f"/api/v1/mp/agent/restocks/{r.json['id']}", headers=h).json["status"] == "paid"
    assert channel.pieces(tenant, mid, sku_id) == 10 and channel.pieces(tenant, top, sku_id) == 15
    with channel.app.app_context():
        assert channel.balances(tenant, mid)["member_stored"] == 40_000
        assert channel.balances(tenant, top)["member_available"] == 60_000  # upline mode: the whole payment
    # then 100.00 left does not cover another 600.00: refused, nothing placed or set aside
    short = client.post("/api/v1/mp/agent/restocks", json={**body, "items": [{"sku_id": sku_id, "quantity": 5}]},
                        headers=h)
    assert short.status_code == 201, short.json  # 300.00 is covered
    broke = client.post("/api/v1/mp/agent/restocks", json=body, headers=h)
    assert (broke.status_code, broke.json["code"]) == (409, "insufficient_balance")
    assert len(client.get("/api/v1/mp/agent/restocks", headers=h).json["items"]) == 2
    assert channel.pieces(tenant, top, sku_id) == 10 and channel.pieces(tenant, mid, sku_id) == 15
    with channel.app.app_context():
        assert channel.balances(tenant, mid)["member_stored"] == 10_000


def test_restock_from_the_upline_by_wechat_pay_moves_its_pieces_settles_it_and_pays_agent_rewards(
        client, factory, channel, shop):
    tenant, product_id, sku_id = channel.brand(settlement_mode="upline")
    top, mid = channel.agents_chain(tenant, ["l1", "l2"])
    channel.stock(tenant, top, sku_id, 50)
    h = factory.member_headers(mid)
    r = client.post("/api/v1/mp/agent/restocks", json={"items": [{"sku_id": sku_id, "quantity": 20}],
                                                       "source": "upline"}, headers=h)
    assert r.status_code == 201, r.json
    assert r.json["supplier_id"] == top.id and r.json["amount_fen"] == 120_000
    assert channel.pieces(tenant, top, sku_id) == 30  # set aside at once
    with unit_of_work():
        from backend.orders import service as orders

        order = orders.get_order(tenant_id=tenant.id, order_id=r.json["order_id"])
    (d,) = shop.deliver(shop.payment(tenant, mid, order))
    assert d.result.status_code == 204
    assert channel.pieces(tenant, mid, sku_id) == 20 and channel.pieces(tenant, top, sku_id) == 30
    with channel.app.app_context():
        bal = channel.balances(tenant, top)
        # upline mode: the whole payment to the upline; plus its level-difference dividend
        # (10% − 7% of 1200.00 paid, frozen until the order completes)
        assert bal["member_available"] == 120_000
        assert bal["member_frozen"] == 3_600
    st = client.get(f"/api/v1/mp/shop/orders/{order.id}", headers=h).json
    assert st["status"] == "shipped"


def test_restock_refusals_change_nothing(client, factory, channel):
    tenant, product_id, sku_id = channel.brand(restock_limits={"l2": {"min_pieces": 5, "max_pieces": 100}})
    top, mid = channel.agents_chain(tenant, ["l1", "l2"])
    h = factory.member_headers(mid)
    over = client.post("/api/v1/mp/agent/restocks", json={"items": [{"sku_id": sku_id, "quantity": 101}],
                                                          "source": "platform"}, headers=h)
    assert over.status_code == 400 and over.json["code"] == "restock_limit_exceeded"
    assert "二级代理" in over.json["message"]
    short = client.post("/api/v1/mp/agent/restocks", json={"items": [{"sku_id": sku_id, "quantity": 10}],
                                                           "source": "upline"}, headers=h)
    assert short.status_code == 409 and short.json["code"] == "insufficient_pieces"
    nobody = factory.member(tenant)
    not_agent = client.post("/api/v1/mp/agent/restocks", json={"items": [{"sku_id": sku_id, "quantity": 10}],
                                                               "source": "platform"},
                            headers=factory.member_headers(nobody))
    assert not_agent.status_code == 403 and not_agent.json["code"] == "not_an_agent"
    no_up = client.post("/api/v1/mp/agent/restocks", json={"items": [{"sku_id": sku_id, "quantity": 10}],
                                                           "source": "upline"}, headers=factory.member_headers(top))
    assert no_up.json["code"] == "no_supplying_upline"
    assert client.get("/api/v1/mp/agent/restocks", headers=h).json["items"] == []
    with channel.app.app_context():
        from backend.catalog import service as catalog

        assert catalog.get_sku(tenant_id=tenant.id, sku_id=sku_id).stock == 1000


def test_transfers_go_only_to_downline_agents_and_wait_for_confirmation_when_asked(client, factory, channel):
    tenant, product_id, sku_id = channel.brand(transfer_confirmation=True)
    top, mid, low = channel.agents_chain(tenant, ["l1", "l2", "l3"])
    other = factory.member(tenant)
    channel.authorize(tenant, other, "l3")
    channel.stock(tenant, mid, sku_id, 30)
    h = factory.member_headers(mid)
    up = client.post("/api/v1/mp/agent/transfers", json={"to_member_id": top.id, "sku_id": sku_id, "pieces": 5,
                                                         "client_token": "tok-up-0001"}, headers=h)
    assert up.status_code == 400 and up.json["code"] == "not_a_downline"
    side = client.post("/api/v1/mp/agent/transfers", json={"to_member_id": other.id, "sku_id": sku_id,
                                                           "pieces": 5, "client_token": "tok-side-01"}, headers=h)
    assert side.json["code"] == "not_a_downline"
    too_many = client.post("/api/v1/mp/agent/transfers", json={"to_member_id": low.id, "sku_id": sku_id,
                                                               "pieces": 31, "client_token": "tok-many-01"}, headers=h)
    assert too_many.status_code == 409 and too_many.json["code"] == "insufficient_pieces"
    assert channel.pieces(tenant, mid, sku_id) == 30
    t = client.post("/api/v1/mp/agent/transfers", json={"to_member_id": low.id, "sku_id": sku_id, "pieces": 12,
                                                        "client_token": "tok-ok-0001"}, headers=h)
    assert t.status_code == 201 and t.json["status"] == "pending"
    replay = client.post("/api/v1/mp/agent/transfers", json={"to_member_id": low.id, "sku_id": sku_id,
                                                             "pieces": 12, "client_token": "tok-ok-0001"}, headers=h)
    assert replay.json["id"] == t.json["id"]
    assert channel.pieces(tenant, mid, sku_id) == 18 and channel.pieces(tenant, low, sku_id) == 0
    assert client.post(f"/api/v1/mp/agent/transfers/{t.json['id']}/accept", headers=h).status_code == 404
    ok = client.post(f"/api/v1/mp/agent/transfers/{t.json['id']}/accept", headers=factory.member_headers(low))
    assert ok.json["status"] == "done"
    assert channel.pieces(tenant, low, sku_id) == 12
    t2 = client.post("/api/v1/mp/agent/transfers", json={"to_member_id": low.id, "sku_id": sku_id, "pieces": 3,
                                                         "client_token": "tok-ok-0002"}, headers=h).json
    client.post(f"/api/v1/mp/agent/transfers/{t2['id']}/reject", headers=factory.member_headers(low))
    assert channel.pieces(tenant, mid, sku_id) == 18 and channel.pieces(tenant, low, sku_id) == 12


def test_pickup_ships_own_pieces_with_freight_and_tracking_and_never_more_than_held(client, factory, channel):
    tenant, product_id, sku_id = channel.brand(pickup_freight_fen=1500)
    (agent,) = channel.agents_chain(tenant, ["l2"])
    channel.stock(tenant, agent, sku_id, 10)
    channel.stored_value(tenant, agent, 2_000)
    h = factory.member_headers(agent)
    receiver = {"name": "李四", "phone": "13900139000", "address": "浙江省杭州市西湖区文三路 1 号"}
    more = client.post("/api/v1/mp/agent/pickups", json={"sku_id": sku_id, "pieces": 11, "client_token": "pick-0001",
                                                         "receiver": receiver}, headers=h)
    assert more.status_code == 409 and more.json["code"] == "insufficient_pieces"
    assert "现有 10 件" in more.json["message"]
    p = client.post("/api/v1/mp/agent/pickups", json={"sku_id": sku_id, "pieces": 4, "client_token": "pick-0002",
                                                      "receiver": receiver}, headers=h)
    assert p.status_code == 201 and p.json["freight_fen"] == 1500
    assert channel.pieces(tenant, agent, sku_id) == 6
    with channel.app.app_context():
        assert channel.balances(tenant, agent)["member_stored"] == 500
    poor = client.post("/api/v1/mp/agent/pickups", json={"sku_id": sku_id, "pieces": 1, "client_token": "pick-0003",
                                                         "receiver": receiver}, headers=h)
    assert poor.status_code == 409 and poor.json["code"] == "insufficient_balance"
    assert channel.pieces(tenant, agent, sku_id) == 6
    boss = _staff(factory, tenant)
    todo = client.get("/api/v1/admin/agents/pickups?status=requested", headers=boss).json["items"]
    assert [x["id"] for x in todo] == [p.json["id"]]
    s = client.post(f"/api/v1/admin/agents/pickups/{p.json['id']}/ship",
                    json={"company": "顺丰", "tracking_no": "SF1234567890"}, headers=boss)
    assert s.json["status"] == "shipped" and s.json["tracking_no"] == "SF1234567890"
    mine = client.get("/api/v1/mp/agent/pickups", headers=h).json["items"]
    assert mine[0]["logistics_company"] == "顺丰"
    check = client.get("/api/v1/admin/agents/warehouse/check", headers=boss).json
    assert check["ok"] is True and check["postings"] >= 2


def test_drop_ship_order_through_an_agents_link_consumes_its_cloud_stock(client, factory, channel, shop):
    tenant, product_id, sku_id = channel.brand()
    (agent,) = channel.agents_chain(tenant, ["l2"])
    channel.authorize(tenant, agent, "l2", regions=ZHEJIANG)
    channel.stock(tenant, agent, sku_id, 3)
    buyer = factory.member(tenant)
    hb = factory.member_headers(buyer)
    order_in = {"items": [{"sku_id": sku_id, "quantity": 2}], "source": {"type": "agent", "id": agent.id},
                "receiver": {"name": "张三", "phone": "13800138000", "address": "浙江省宁波市海曙区 1 号"}}
    o = client.post("/api/v1/mp/shop/orders", json=order_in, headers=hb)
    assert o.status_code == 201, o.json
    assert channel.pieces(tenant, agent, sku_id) == 1
    with channel.app.app_context():
        from backend.catalog import service as catalog

        assert catalog.get_sku(tenant_id=tenant.id, sku_id=sku_id).stock == 997  # only the agent's restock left it
    short = client.post("/api/v1/mp/shop/orders", json=order_in, headers=hb)
    assert short.status_code == 409 and short.json["code"] == "insufficient_pieces"
    outside = dict(order_in, receiver={**order_in["receiver"], "address": "江苏省南京市玄武区 1 号"},
                   items=[{"sku_id": sku_id, "quantity": 1}])
    r = client.post("/api/v1/mp/shop/orders", json=outside, headers=hb)
    assert r.status_code == 403 and r.json["code"] == "region_not_authorized"
    cancel = client.post(f"/api/v1/mp/shop/orders/{o.json['id']}/cancel", headers=hb)
    assert cancel.status_code == 200
    assert channel.pieces(tenant, agent, sku_id) == 3


def test_drop_ship_falls_back_to_platform_stock_when_the_tenant_allows(client, factory, channel):
    tenant, product_id, sku_id = channel.brand(dropship_shortage="platform")
    (agent,) = channel.agents_chain(tenant, ["l2"])
    buyer = factory.member(tenant)
    o = client.post("/api/v1/mp/shop/orders", headers=factory.member_headers(buyer), json={
        "items": [{"sku_id": sku_id, "quantity": 2}], "source": {"type": "agent", "id": agent.id},
        "receiver": {"name": "张三", "phone": "13800138000", "address": "上海市黄浦区南京东路 1 号"}})
    assert o.status_code == 201, o.json
    with channel.app.app_context():
        from backend.catalog import service as catalog

        assert catalog.get_sku(tenant_id=tenant.id, sku_id=sku_id).stock == 998


def test_an_expired_authorization_cannot_sell_restock_or_transfer(client, factory, channel):
    from datetime import timedelta

    from backend.agents import service as agents
    from backend.db import utcnow

    tenant, product_id, sku_id = channel.brand()
    top, low = channel.agents_chain(tenant, ["l1", "l3"])
    channel.stock(tenant, top, sku_id, 5)
    with unit_of_work():
        a = agents.find_authorization(tenant_id=tenant.id, member_id=top.id)
        a.valid_until = utcnow() - timedelta(days=1)
    h = factory.member_headers(top)
    t = client.post("/api/v1/mp/agent/transfers", json={"to_member_id": low.id, "sku_id": sku_id, "pieces": 1,
                                                        "client_token": "tok-exp-001"}, headers=h)
    assert t.status_code == 403 and t.json["code"] == "authorization_expired" and "过期" in t.json["message"]
    buyer = factory.member(tenant)
    o = client.post("/api/v1/mp/shop/orders", headers=factory.member_headers(buyer), json={
        "items": [{"sku_id": sku_id, "quantity": 1}], "source": {"type": "agent", "id": top.id},
        "receiver": {"name": "张三", "phone": "13800138000", "address": "上海市黄浦区南京东路 1 号"}})
    assert o.status_code == 403 and o.json["code"] == "authorization_expired"
    r = client.post("/api/v1/mp/agent/restocks", json={"items": [{"sku_id": sku_id, "quantity": 1}],
                                                       "source": "platform"}, headers=h)
    assert r.json["code"] == "authorization_expired"
    assert channel.pieces(tenant, top, sku_id) == 5


def test_authorization_outside_its_products_cannot_restock_them(client, factory, channel, shop):
    tenant, product_id, sku_id = channel.brand()
    _, other_sku = shop.product(tenant, name="碧螺春", level_prices={"l1": 1000, "l2": 2000, "l3": 3000})
    agent = factory.member(tenant)
    channel.authorize(tenant, agent, "l2", product_ids=[product_id])
    r = client.post("/api/v1/mp/agent/restocks", json={"items": [{"sku_id": other_sku, "quantity": 1}],
                                                       "source": "platform"}, headers=factory.member_headers(agent))
    assert r.status_code == 403 and r.json["code"] == "product_not_authorized"


def test_a_level_changed_by_hand_moves_the_authorization_and_reissues_the_certificate(client, factory, channel):
    tenant, *_ = channel.brand()
    agent = factory.member(tenant)
    first = channel.authorize(tenant, agent, "l3")["certificate"]["serial"]
    boss = _staff(factory, tenant)
    r = client.put(f"/api/v1/admin/rewards/members/{agent.id}/level", json={"agent_level": "l1"}, headers=boss)
    assert r.status_code == 200, r.json
    certs = client.get(f"/api/v1/admin/agents/members/{agent.id}/certificates", headers=boss).json["items"]
    assert [(c["level"], c["status"]) for c in certs] == [("l1", "valid"), ("l3", "superseded")]
    assert client.get(f"/api/v1/public/certificates/{first}").json["status"] == "superseded"
    auths = client.get("/api/v1/admin/agents/authorizations", headers=boss).json["items"]
    assert [(a["member_id"], a["level"]) for a in auths] == [(agent.id, "l1")]
    client.put(f"/api/v1/admin/rewards/members/{agent.id}/level", json={"agent_level": None}, headers=boss)
    auths = client.get("/api/v1/admin/agents/authorizations", headers=boss).json["items"]
    assert auths[0]["status"] == "revoked"
    assert client.get(f"/api/v1/public/certificates/{certs[0]['serial']}").json["status"] == "revoked"


def test_platform_settlement_keeps_the_payment_and_pays_the_upline_its_own_price(client, factory, channel):
    tenant, product_id, sku_id = channel.brand(settlement_mode="platform")
    top, mid = channel.agents_chain(tenant, ["l1", "l2"])
    channel.stock(tenant, top, sku_id, 10)
    channel.stored_value(tenant, mid, 60_000)
    h = factory.member_headers(mid)
    r = client.post("/api/v1/mp/agent/restocks", json={"items": [{"sku_id": sku_id, "quantity": 10}],
                                                       "source": "upline"}, headers=h).json
    assert r["settlement_mode"] == "platform" and r["amount_fen"] == 60_000
    assert client.post(f"/api/v1/mp/agent/restocks/{r['id']}/pay-stored", headers=h).status_code == 200
    assert channel.pieces(tenant, mid, sku_id) == 10 and channel.pieces(tenant, top, sku_id) == 0
    with channel.app.app_context():
        # the upline is paid back what the pieces cost it (l1: 50.00 × 10), the platform keeps the rest;
        # the plan's level-difference dividend (10% − 7% of 600.00) is frozen as for any order
        assert channel.balances(tenant, top)["member_available"] == 50_000
        assert channel.balances(tenant, top)["member_frozen"] == 1_800
        assert channel.balances(tenant, mid)["member_stored"] == 0


def test_a_retail_order_in_an_agents_mini_shop_ships_from_its_cloud_stock(client, factory, channel):
    from backend.db import utcnow
    from backend.members import service as members
    from backend.shops import service as shops

    tenant, product_id, sku_id = channel.brand()
    (agent,) = channel.agents_chain(tenant, ["l2"])
    channel.stock(tenant, agent, sku_id, 5)
    with unit_of_work():
        members.adjust_member(tenant_id=tenant.id, member_id=agent.id, changes={"promoter_status": "active"},
                              actor="test")
        shop = shops.open_shop(tenant_id=tenant.id, member_id=agent.id, name="小王茶铺", now=utcnow())
        shops.set_products(tenant_id=tenant.id, member_id=agent.id, product_ids=[product_id], now=utcnow())
        shop_id = shop.id
    buyer = factory.member(tenant)
    o = client.post("/api/v1/mp/shop/orders", headers=factory.member_headers(buyer), json={
        "items": [{"sku_id": sku_id, "quantity": 2}], "source": {"type": "shop", "id": shop_id},
        "receiver": {"name": "张三", "phone": "13800138000", "address": "上海市黄浦区南京东路 1 号"}})
    assert o.status_code == 201, o.json
    assert channel.pieces(tenant, agent, sku_id) == 3
    with channel.app.app_context():
        from backend.catalog import service as catalog

        assert catalog.get_sku(tenant_id=tenant.id, sku_id=sku_id).stock == 995  # only the agent's restock
