"""An agent application that buys the level's package (等级礼包) through HTTP: the
package is an order paid by WeChat Pay (sandbox) or stored value, before the review or
at approval per the tenant's policy; the approval grants the level through the
package machinery and the plan's rewards are paid; a rejection refunds it once."""

from __future__ import annotations

from backend.db import unit_of_work
from backend.members import service as members
from backend.orders import service as orders
from backend.rewards import service as rewards

PRICE = 199_900
APPLY = {"level": "l2", "real_name": "王小明", "id_number": "33010219900101123X", "phone": "13800138000",
         "province": "浙江省", "city": "杭州市", "images": []}


def _setup(client, factory, channel, **settings):
    """A brand with the l2 package (1999.00) and an l1 agent above the applicant."""
    tenant, *_ = channel.brand(**settings)
    boss = factory.staff_headers(factory.staff(tenant, role="boss"))
    p = client.post("/api/v1/admin/shop/products", headers=boss, json={
        "name": "二级代理礼包", "on_shelf": True, "grants_level": "l2",
        "skus": [{"name": "礼包", "price_fen": PRICE, "cost_fen": 100_000, "stock": 10}]})
    assert p.status_code == 201, p.json
    top = factory.member(tenant)
    channel.authorize(tenant, top, "l1")
    m = factory.member(tenant, parent=top)
    return tenant, boss, top, m, p.json["skus"][0]["id"]


def _order(tenant, order_id):
    with unit_of_work():
        return orders.get_order(tenant_id=tenant.id, order_id=order_id)


def _level(channel, tenant, m):
    with channel.app.app_context():
        return members.get_member(tenant_id=tenant.id, member_id=m.id).agent_level


def test_a_package_paid_by_wechat_pay_before_review_is_approved_into_the_level_with_rewards(client, factory,
                                                                                             channel, shop):
    tenant, boss, top, m, sku = _setup(client, factory, channel)
    h = factory.member_headers(m)
    a = client.post("/api/v1/mp/agent/applications", json={**APPLY, "package_sku_id": sku}, headers=h)
    assert a.status_code == 201, a.json
    assert (a.json["package_status"], a.json["package_fen"]) == ("unpaid", PRICE)
    order_id = a.json["package_order_id"]

    early = client.post(f"/api/v1/admin/agents/applications/{a.json['id']}/approve", json={}, headers=boss)
    assert early.status_code == 409 and early.json["code"] == "package_unpaid" and "付款" in early.json["message"]
    assert client.get("/api/v1/admin/agents/authorizations", headers=boss).json["items"][0]["member_id"] == top.id
    assert len(client.get("/api/v1/admin/agents/authorizations", headers=boss).json["items"]) == 1

    (d,) = shop.deliver(shop.payment(tenant, m, _order(tenant, order_id)))
    assert d.result.status_code == 204
    mine = client.get("/api/v1/mp/agent/applications", headers=h).json["items"][0]
    assert (mine["status"], mine["package_status"]) == ("pending", "paid")
    assert _level(channel, tenant, m) is None  # the package waits for the review
    with channel.app.app_context():
        # the plan pays the upline on the package as on any order (10% of 1999.00, frozen)
        assert channel.balances(tenant, top)["member_frozen"] == 19_990

    ok = client.post(f"/api/v1/admin/agents/applications/{a.json['id']}/approve", json={}, headers=boss)
    assert ok.status_code == 200, ok.json
    assert ok.json["authorization"]["level"] == "l2" and ok.json["certificate"]["level"] == "l2"
    assert _level(channel, tenant, m) == "l2"
    with channel.app.app_context():
        history = rewards.level_history(tenant_id=tenant.id, member_id=m.id)
        assert (history[0].new_value, history[0].source, history[0].actor) == ("l2", "bought", f"order:{order_id}")


def test_a_rejected_application_refunds_its_wechat_paid_package_once_and_cancels_the_rewards(
        client, factory, channel, shop, sandbox):
    tenant, boss, top, m, sku = _setup(client, factory, channel)
    h = factory.member_headers(m)
    a = client.post("/api/v1/mp/agent/applications", json={**APPLY, "package_sku_id": sku}, headers=h).json
    shop.deliver(shop.payment(tenant, m, _order(tenant, a["package_order_id"])))
    rej = client.post(f"/api/v1/admin/agents/applications/{a['id']}/reject", json={"reason": "资料不全"},
                      headers=boss)
    assert rej.status_code == 200 and rej.json["application"]["package_status"] == "refunding"
    again = client.post(f"/api/v1/admin/agents/applications/{a['id']}/reject", json={"reason": "资料不全"},
                        headers=boss)
    assert again.status_code == 409 and again.json["code"] == "application_state_conflict"
    refunds = client.get(f"/api/v1/mp/shop/orders/{a['package_order_id']}/refunds", headers=h).json["items"]
    assert len(refunds) == 1 and refunds[0]["amount_fen"] == PRICE
    shop.deliver(sandbox.complete_refund(refunds[0]["refund_no"]))
    mine = client.get("/api/v1/mp/agent/applications", headers=h).json["items"][0]
    assert (mine["status"], mine["package_status"]) == ("rejected", "refunded")
    assert _order(tenant, a["package_order_id"]).status == "refunded"
    assert _level(channel, tenant, m) is None
    with channel.app.app_context():
        assert channel.balances(tenant, top).get("member_frozen", 0) == 0  # the reward cancelled


def test_on_approval_the_package_is_taken_from_stored_value_or_the_approval_is_refused(client, factory, channel):
    tenant, boss, top, m, sku = _setup(client, factory, channel, package_payment="on_approval")
    h = factory.member_headers(m)
    a = client.post("/api/v1/mp/agent/applications", json={**APPLY, "package_sku_id": sku}, headers=h).json
    channel.stored_value(tenant, m, PRICE - 1)
    poor = client.post(f"/api/v1/admin/agents/applications/{a['id']}/approve", json={}, headers=boss)
    assert poor.status_code == 409 and poor.json["code"] == "insufficient_balance"
    mine = client.get("/api/v1/mp/agent/applications", headers=h).json["items"][0]
    assert (mine["status"], mine["package_status"]) == ("pending", "unpaid")
    with channel.app.app_context():
        assert channel.balances(tenant, m)["member_stored"] == PRICE - 1
    assert _level(channel, tenant, m) is None

    channel.stored_value(tenant, m, 1)
    ok = client.post(f"/api/v1/admin/agents/applications/{a['id']}/approve", json={}, headers=boss)
    assert ok.status_code == 200, ok.json
    assert ok.json["application"]["package_status"] == "paid"
    assert _level(channel, tenant, m) == "l2"
    assert _order(tenant, a["package_order_id"]).status == "paid"
    with channel.app.app_context():
        assert channel.balances(tenant, m)["member_stored"] == 0
        # rewards computed at the level the applicant held when it paid (none): 10% to the l1 upline
        assert channel.balances(tenant, top)["member_frozen"] == 19_990


def test_a_stored_value_package_comes_back_on_rejection_and_an_unpaid_one_is_cancelled(client, factory, channel):
    tenant, boss, top, m, sku = _setup(client, factory, channel)
    h = factory.member_headers(m)
    a = client.post("/api/v1/mp/agent/applications", json={**APPLY, "package_sku_id": sku}, headers=h).json
    channel.stored_value(tenant, m, PRICE)
    paid = client.post(f"/api/v1/mp/shop/orders/{a['package_order_id']}/pay-stored", json={}, headers=h)
    assert paid.status_code == 200, paid.json
    with channel.app.app_context():
        assert channel.balances(tenant, m)["member_stored"] == 0
    client.post(f"/api/v1/admin/agents/applications/{a['id']}/reject", json={"reason": "区域已满"}, headers=boss)
    with channel.app.app_context():
        assert channel.balances(tenant, m)["member_stored"] == PRICE
    assert client.get("/api/v1/mp/agent/applications", headers=h).json["items"][0]["package_status"] == "refunded"

    b = client.post("/api/v1/mp/agent/applications", json={**APPLY, "package_sku_id": sku}, headers=h).json
    rb = client.post(f"/api/v1/admin/agents/applications/{b['id']}/reject", json={"reason": "区域已满"}, headers=boss)
    assert rb.status_code == 200, rb.json
    assert _order(tenant, b["package_order_id"]).status == "cancelled"
    assert client.get("/api/v1/mp/agent/applications", headers=h).json["items"][0]["package_status"] == "cancelled"
    with channel.app.app_context():
        assert channel.balances(tenant, m)["member_stored"] == PRICE


def test_a_package_of_another_level_is_refused_and_no_application_is_left(client, factory, channel, shop):
    tenant, boss, top, m, sku = _setup(client, factory, channel)
    h = factory.member_headers(m)
    r = client.post("/api/v1/mp/agent/applications", json={**APPLY, "level": "l3", "package_sku_id": sku}, headers=h)
    assert r.status_code == 400 and r.json["code"] == "invalid_agent_input" and "等级礼包" in r.json["message"]
    _, plain_sku = shop.product(tenant, name="普通茶叶")
    r2 = client.post("/api/v1/mp/agent/applications", json={**APPLY, "package_sku_id": plain_sku}, headers=h)
    assert r2.status_code == 400
    assert client.get("/api/v1/mp/agent/applications", headers=h).json["items"] == []
    assert client.get("/api/v1/mp/shop/orders", headers=h).json["items"] == []


def test_an_application_whose_package_order_is_cancelled_closes_with_the_reason(client, factory, channel):
    tenant, boss, top, m, sku = _setup(client, factory, channel)
    h = factory.member_headers(m)
    a = client.post("/api/v1/mp/agent/applications", json={**APPLY, "package_sku_id": sku}, headers=h).json
    assert client.post(f"/api/v1/mp/shop/orders/{a['package_order_id']}/cancel", headers=h).status_code == 200
    mine = client.get("/api/v1/mp/agent/applications", headers=h).json["items"][0]
    assert (mine["status"], mine["package_status"], mine["reason"]) == ("rejected", "cancelled",
                                                                       "礼包订单已取消，申请关闭")
    late = client.post(f"/api/v1/admin/agents/applications/{a['id']}/approve", json={}, headers=boss)
    assert late.status_code == 409 and late.json["code"] == "application_state_conflict"
