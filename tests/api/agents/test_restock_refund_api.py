"""Refunds of restock orders through HTTP: the pieces come back out of the buyer's
cloud stock (refused when they were moved on), the money back the way it was paid,
the supplying upline's settlement and the plan's rewards reversed — once, audited,
within the tenant's rule (none, whole, lines)."""

from __future__ import annotations

from backend.db import unit_of_work
from backend.orders import service as orders
from tests.agents_factories import LEVEL_PRICES


def _boss(factory, tenant):
    return factory.staff_headers(factory.staff(tenant, role="boss"))


def _restock(client, h, items, source="platform"):
    r = client.post("/api/v1/mp/agent/restocks", json={"items": [{"sku_id": s, "quantity": q} for s, q in items],
                                                       "source": source}, headers=h)
    assert r.status_code == 201, r.json
    return r.json


def _refund(client, boss, restock_id, **body):
    return client.post(f"/api/v1/admin/agents/restocks/{restock_id}/refund", json={"reason": "退货", **body},
                       headers=boss)


def test_a_platform_restock_paid_by_stored_value_is_refunded_whole_once(client, factory, channel):
    tenant, product_id, sku_id = channel.brand()
    (agent,) = channel.agents_chain(tenant, ["l2"])
    channel.stored_value(tenant, agent, 60_000)
    h = factory.member_headers(agent)
    r = _restock(client, h, [(sku_id, 10)])
    assert client.post(f"/api/v1/mp/agent/restocks/{r['id']}/pay-stored", headers=h).status_code == 200
    boss = _boss(factory, tenant)
    mine = client.post(f"/api/v1/mp/shop/orders/{r['order_id']}/refunds", json={"reason": "不要了"}, headers=h)
    assert mine.status_code == 409 and mine.json["code"] == "restock_not_refundable"

    done = _refund(client, boss, r["id"])
    assert done.status_code == 200, done.json
    assert done.json["refund"]["amount_fen"] == 60_000
    assert channel.pieces(tenant, agent, sku_id) == 0
    assert client.get(f"/api/v1/mp/agent/restocks/{r['id']}", headers=h).json["status"] == "refunded"
    with channel.app.app_context():
        from backend.catalog import service as catalog

        assert channel.balances(tenant, agent)["member_stored"] == 60_000
        assert catalog.get_sku(tenant_id=tenant.id, sku_id=sku_id).stock == 1000  # back in the brand's stock
    again = _refund(client, boss, r["id"])
    assert again.status_code == 409 and again.json["code"] == "restock_state_conflict" and "已退款" in again.json["message"]
    check = client.get("/api/v1/admin/agents/warehouse/check", headers=boss).json
    assert check["ok"] is True
    audit = client.get("/api/v1/admin/audit?target_type=restock", headers=boss).json["items"]
    assert [a["action"] for a in audit] == ["warehouse.restock_refund"]


def test_an_upline_restock_refund_returns_pieces_and_takes_back_the_settlement_and_rewards(client, factory, channel,
                                                                                           shop, sandbox):
    tenant, product_id, sku_id = channel.brand(settlement_mode="upline")
    top, mid = channel.agents_chain(tenant, ["l1", "l2"])
    channel.stock(tenant, top, sku_id, 50)
    h = factory.member_headers(mid)
    r = _restock(client, h, [(sku_id, 20)], source="upline")
    with unit_of_work():
        order = orders.get_order(tenant_id=tenant.id, order_id=r["order_id"])
    shop.deliver(shop.payment(tenant, mid, order))
    with channel.app.app_context():
        assert channel.balances(tenant, top)["member_available"] == 120_000
        assert channel.balances(tenant, top)["member_frozen"] == 3_600
    boss = _boss(factory, tenant)
    done = _refund(client, boss, r["id"])
    assert done.status_code == 200, done.json
    assert channel.pieces(tenant, mid, sku_id) == 0 and channel.pieces(tenant, top, sku_id) == 50
    shop.deliver(sandbox.complete_refund(done.json["refund"]["refund_no"]))
    with channel.app.app_context():
        bal = channel.balances(tenant, top)
        assert bal["member_available"] == 0 and bal.get("member_frozen", 0) == 0
    assert client.get(f"/api/v1/mp/agent/restocks/{r['id']}", headers=h).json["status"] == "refunded"
    assert client.get("/api/v1/admin/agents/warehouse/check", headers=boss).json["ok"] is True


def test_pieces_already_moved_on_refuse_the_refund_and_nothing_changes(client, factory, channel):
    tenant, product_id, sku_id = channel.brand()
    top, low = channel.agents_chain(tenant, ["l1", "l3"])
    channel.stored_value(tenant, top, 50_000)
    h = factory.member_headers(top)
    r = _restock(client, h, [(sku_id, 10)])
    client.post(f"/api/v1/mp/agent/restocks/{r['id']}/pay-stored", headers=h)
    t = client.post("/api/v1/mp/agent/transfers", headers=h, json={"to_member_id": low.id, "sku_id": sku_id,
                                                                    "pieces": 4, "client_token": "tok-ref-0001"})
    assert t.status_code == 201
    boss = _boss(factory, tenant)
    refused = _refund(client, boss, r["id"])
    assert refused.status_code == 409 and refused.json["code"] == "restock_pieces_moved"
    assert "现有 6 件" in refused.json["message"] and "需退回 10 件" in refused.json["message"]
    assert channel.pieces(tenant, top, sku_id) == 6 and channel.pieces(tenant, low, sku_id) == 4
    assert client.get(f"/api/v1/mp/agent/restocks/{r['id']}", headers=h).json["status"] == "paid"
    assert client.get(f"/api/v1/mp/shop/orders/{r['order_id']}/refunds", headers=h).json["items"] == []
    with channel.app.app_context():
        assert channel.balances(tenant, top)["member_stored"] == 0


def test_the_tenants_rule_decides_whole_or_per_line_refunds(client, factory, channel, shop):
    tenant, product_id, sku_id = channel.brand(restock_refund="whole")
    _, sku2 = shop.product(tenant, name="碧螺春", stock=100, level_prices=LEVEL_PRICES)
    (agent,) = channel.agents_chain(tenant, ["l2"])
    channel.stored_value(tenant, agent, 60_000 + 30_000)
    h = factory.member_headers(agent)
    r = _restock(client, h, [(sku_id, 10), (sku2, 5)])
    client.post(f"/api/v1/mp/agent/restocks/{r['id']}/pay-stored", headers=h)
    boss = _boss(factory, tenant)
    one = _refund(client, boss, r["id"], sku_id=sku2)
    assert one.status_code == 400 and "整单" in one.json["message"]

    channel.settings(tenant, restock_refund="lines")
    one = _refund(client, boss, r["id"], sku_id=sku2)
    assert one.status_code == 200, one.json
    assert one.json["refund"]["amount_fen"] == 30_000
    assert channel.pieces(tenant, agent, sku2) == 0 and channel.pieces(tenant, agent, sku_id) == 10
    assert client.get(f"/api/v1/mp/agent/restocks/{r['id']}", headers=h).json["status"] == "paid"
    twice = _refund(client, boss, r["id"], sku_id=sku2)
    assert twice.status_code == 409 and channel.pieces(tenant, agent, sku_id) == 10
    with channel.app.app_context():
        assert channel.balances(tenant, agent)["member_stored"] == 30_000

    channel.settings(tenant, restock_refund="none")
    off = _refund(client, boss, r["id"])
    assert off.status_code == 409 and off.json["code"] == "restock_not_refundable" and "未开放" in off.json["message"]
    assert channel.pieces(tenant, agent, sku_id) == 10
