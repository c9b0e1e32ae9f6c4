"""Authorizations by product category (商品分类) as well as by product, through HTTP:
granted by HQ, asked for in an application, changed later; restock, drop-ship and
transfer honour them, and refusals change nothing."""

from __future__ import annotations

from tests.agents_factories import LEVEL_PRICES

APPLY = {"level": "l2", "real_name": "王小明", "id_number": "33010219900101123X", "phone": "13800138000",
         "province": "浙江省", "city": "杭州市", "images": []}
RECEIVER = {"name": "张三", "phone": "13800138000", "address": "浙江省杭州市西湖区 1 号"}


def _boss(factory, tenant):
    return factory.staff_headers(factory.staff(tenant, role="boss"))


def _tea_and_teaware(channel, shop):
    """A brand with a tea (茶叶) and a teapot (茶具); (tenant, tea sku, teapot product, teapot sku)."""
    tenant, tea, tea_sku = channel.brand()
    channel.categorize(tenant, tea, "茶叶")
    pot, pot_sku = shop.product(tenant, name="紫砂壶", price_fen=20000, cost_fen=5000, stock=100,
                                level_prices=LEVEL_PRICES)
    channel.categorize(tenant, pot, "茶具")
    return tenant, tea_sku, pot, pot_sku


def _restock(client, headers, sku_id, n=1):
    return client.post("/api/v1/mp/agent/restocks", json={"items": [{"sku_id": sku_id, "quantity": n}],
                                                          "source": "platform"}, headers=headers)


def test_hq_grants_a_category_authorization_that_restocks_inside_and_is_refused_outside(client, factory, channel,
                                                                                        shop):
    tenant, tea_sku, pot, pot_sku = _tea_and_teaware(channel, shop)
    agent = factory.member(tenant)
    boss = _boss(factory, tenant)
    g = client.post("/api/v1/admin/agents/authorizations", headers=boss,
                    json={"member_id": agent.id, "level": "l2", "categories": ["茶叶"]})
    assert g.status_code == 201, g.json
    assert g.json["authorization"]["categories"] == ["茶叶"] and g.json["authorization"]["product_ids"] is None
    assert g.json["certificate"]["products"] == "茶叶类"
    h = factory.member_headers(agent)
    assert _restock(client, h, tea_sku).status_code == 201
    out = _restock(client, h, pot_sku)
    assert out.status_code == 403 and out.json["code"] == "product_not_authorized"
    assert "紫砂壶" in out.json["message"] and out.json["details"] == {"product_ids": [pot]}
    assert len(client.get("/api/v1/mp/agent/restocks", headers=h).json["items"]) == 1


def test_products_and_categories_together_cover_their_union(client, factory, channel, shop):
    tenant, tea_sku, pot, pot_sku = _tea_and_teaware(channel, shop)
    cup, cup_sku = shop.product(tenant, name="品茗杯", level_prices=LEVEL_PRICES)
    channel.categorize(tenant, cup, "茶具")
    agent = factory.member(tenant)
    cert = channel.authorize(tenant, agent, "l2", categories=["茶叶"], product_ids=[pot])["certificate"]
    assert cert["products"] == "茶叶类、紫砂壶"
    h = factory.member_headers(agent)
    assert _restock(client, h, tea_sku).status_code == 201
    assert _restock(client, h, pot_sku).status_code == 201
    assert _restock(client, h, cup_sku).json["code"] == "product_not_authorized"


def test_a_drop_ship_order_outside_the_agents_categories_is_refused_and_takes_no_stock(client, factory, channel,
                                                                                       shop):
    tenant, tea_sku, pot, pot_sku = _tea_and_teaware(channel, shop)
    agent = factory.member(tenant)
    channel.authorize(tenant, agent, "l2")
    channel.stock(tenant, agent, pot_sku, 2)
    channel.authorize(tenant, agent, "l2", categories=["茶叶"])  # narrowed to tea since
    buyer = factory.member(tenant)
    o = client.post("/api/v1/mp/shop/orders", headers=factory.member_headers(buyer), json={
        "items": [{"sku_id": pot_sku, "quantity": 1}], "source": {"type": "agent", "id": agent.id},
        "receiver": RECEIVER})
    assert o.status_code == 403 and o.json["code"] == "product_not_authorized"
    assert channel.pieces(tenant, agent, pot_sku) == 2
    assert client.get("/api/v1/mp/shop/orders", headers=factory.member_headers(buyer)).json["items"] == []


def test_a_transfer_of_a_product_outside_the_receivers_categories_is_refused(client, factory, channel, shop):
    tenant, tea_sku, pot, pot_sku = _tea_and_teaware(channel, shop)
    top, low = channel.agents_chain(tenant, ["l1", "l3"])
    channel.stock(tenant, top, pot_sku, 5)
    channel.authorize(tenant, low, "l3", categories=["茶叶"])
    t = client.post("/api/v1/mp/agent/transfers", headers=factory.member_headers(top), json={
        "to_member_id": low.id, "sku_id": pot_sku, "pieces": 2, "client_token": "tok-cat-0001"})
    assert t.status_code == 403 and t.json["code"] == "product_not_authorized"
    assert "接收方" in t.json["message"]
    assert channel.pieces(tenant, top, pot_sku) == 5 and channel.pieces(tenant, low, pot_sku) == 0


def test_an_application_asks_for_categories_and_the_approval_grants_them(client, factory, channel, shop):
    tenant, tea_sku, pot, pot_sku = _tea_and_teaware(channel, shop)
    m = factory.member(tenant)
    a = client.post("/api/v1/mp/agent/applications", json={**APPLY, "categories": ["茶具"]},
                    headers=factory.member_headers(m))
    assert a.status_code == 201 and a.json["categories"] == ["茶具"]
    ok = client.post(f"/api/v1/admin/agents/applications/{a.json['id']}/approve", json={},
                     headers=_boss(factory, tenant))
    assert ok.json["authorization"]["categories"] == ["茶具"]
    assert ok.json["certificate"]["products"] == "茶具类"
    h = factory.member_headers(m)
    assert _restock(client, h, pot_sku).status_code == 201
    assert _restock(client, h, tea_sku).json["code"] == "product_not_authorized"

    # HQ may decide another scope than the one asked for
    m2 = factory.member(tenant)
    a2 = client.post("/api/v1/mp/agent/applications", json={**APPLY, "categories": ["茶具"]},
                     headers=factory.member_headers(m2)).json
    ok2 = client.post(f"/api/v1/admin/agents/applications/{a2['id']}/approve", json={"categories": ["茶叶"]},
                      headers=_boss(factory, tenant)).json
    assert ok2["authorization"]["categories"] == ["茶叶"]


def test_changing_the_categories_reissues_the_certificate_and_bad_scopes_change_nothing(client, factory, channel,
                                                                                         shop):
    tenant, tea_sku, pot, pot_sku = _tea_and_teaware(channel, shop)
    agent = factory.member(tenant)
    g = channel.authorize(tenant, agent, "l2", categories=["茶叶"])
    auth_id, first = g["authorization"]["id"], g["certificate"]["serial"]
    boss = _boss(factory, tenant)
    p = client.patch(f"/api/v1/admin/agents/authorizations/{auth_id}", json={"categories": ["茶叶", "茶具"]},
                     headers=boss)
    assert p.status_code == 200 and p.json["categories"] == ["茶叶", "茶具"]
    certs = client.get(f"/api/v1/admin/agents/members/{agent.id}/certificates", headers=boss).json["items"]
    assert [(c["products"], c["status"]) for c in certs] == [("茶叶类、茶具类", "valid"), ("茶叶类", "superseded")]
    assert client.get(f"/api/v1/public/certificates/{first}").json["status"] == "superseded"
    assert _restock(client, factory.member_headers(agent), pot_sku).status_code == 201

    empty = client.patch(f"/api/v1/admin/agents/authorizations/{auth_id}", json={"categories": []}, headers=boss)
    assert empty.status_code == 400
    unknown = client.patch(f"/api/v1/admin/agents/authorizations/{auth_id}", json={"product_ids": [999999]},
                           headers=boss)
    assert unknown.status_code == 400 and unknown.json["code"] == "invalid_agent_input"
    assert "商品不存在" in unknown.json["details"][0]["message"]
    nothing = client.patch(f"/api/v1/admin/agents/authorizations/{auth_id}",
                           json={"product_ids": [], "categories": None}, headers=boss)
    assert nothing.status_code == 400 and "不能为空" in nothing.json["message"]
    auths = client.get("/api/v1/admin/agents/authorizations", headers=boss).json["items"]
    assert (auths[0]["categories"], auths[0]["product_ids"]) == (["茶叶", "茶具"], None)
    assert len(client.get(f"/api/v1/admin/agents/members/{agent.id}/certificates", headers=boss).json["items"]) == 2
