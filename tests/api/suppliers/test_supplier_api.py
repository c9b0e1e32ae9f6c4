"""Suppliers end to end over HTTP: apply, review, products under review, checkout split
into sub-orders, each supplier shipping its own, after-sales, income through the ledger
(frozen → settled → reversed), statements, and one supplier kept out of another's rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.ledger import service as ledger
from backend.orders.models import Order
from tests.orders_factories import RECEIVER
from tests.suppliers_factories import ADMIN, PORTAL

SHOP = "/api/v1/mp/shop"


def _order(client, headers, items):
    resp = client.post(f"{SHOP}/orders", headers=headers, json={
        "items": [{"sku_id": s, "quantity": q} for s, q in items], "receiver": RECEIVER})
    assert resp.status_code == 201, resp.json
    return resp.json


def _complete(tenant_id, order_id, at):
    from backend.orders import service as orders

    with unit_of_work():
        orders.complete_order(tenant_id=tenant_id, order_id=order_id, now=at)


def _settle(at):
    from backend.flows.jobs import settle_supplier_income

    return settle_supplier_income(now=at)


def test_an_application_is_reviewed_before_the_supplier_may_sell(client, factory, sup):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "operator"))
    headers, sid = sup.apply(t)
    me = client.get(f"{PORTAL}/me", headers=headers).json
    assert (me["status"], me["company_name"]) == ("pending", "山间茶园有限公司")
    early = client.post(f"{PORTAL}/products", headers=headers, json={
        "name": "茶", "skus": [{"name": "1", "price_fen": 100}]})
    assert (early.status_code, early.json["code"]) == (403, "supplier_not_active")
    waiting = client.get(f"{ADMIN}?status=pending", headers=boss).json["items"]
    assert [s["id"] for s in waiting] == [sid]
    no_reason = client.post(f"{ADMIN}/{sid}/review", headers=boss, json={"approve": False})
    assert no_reason.status_code == 400
    ok = client.post(f"{ADMIN}/{sid}/review", headers=boss, json={"approve": True, "commission_rate": "15%"})
    assert (ok.json["status"], ok.json["commission_rate"]) == ("active", "15%")
    again = client.post(f"{ADMIN}/{sid}/review", headers=boss, json={"approve": False, "note": "x"})
    assert again.json["code"] == "supplier_state"
    login = client.post(f"{PORTAL}/login", json={"tenant": t.slug, "username": "supplier1",
                                                  "password": "password123"})
    assert login.status_code == 200 and login.json["user"]["role"] == "supplier"
    wrong = client.post(f"{PORTAL}/login", json={"tenant": t.slug, "username": "supplier1", "password": "nope12345"})
    assert (wrong.status_code, wrong.json["code"]) == (401, "bad_credentials")
    actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("suppliers.%"))
                                      .order_by(AuditLog.id)))
    assert actions == ["suppliers.apply", "suppliers.review"]


def test_a_product_is_on_the_shelf_only_once_approved_and_new_prices_wait_for_review(client, factory, sup):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    buyer = factory.member_headers(factory.member(t))
    headers, _ = sup.active(t, boss)
    pid, sku = sup.product(headers, None, price_fen=9900, cost_fen=5000)
    assert client.get(f"{SHOP}/products/{pid}", headers=buyer).status_code == 404
    rejected = client.post(f"{ADMIN}/products/{pid}/review", headers=boss, json={"approve": False, "note": "图片不清晰"})
    assert (rejected.json["review"]["review_status"], rejected.json["on_shelf"]) == ("rejected", False)
    assert client.post(f"{PORTAL}/products/{pid}/resubmit", headers=headers).json["review"]["review_status"] == "pending"
    assert client.post(f"{ADMIN}/products/{pid}/review", headers=boss, json={"approve": True}).json["on_shelf"]
    assert client.get(f"{SHOP}/products/{pid}", headers=buyer).json["skus"][0]["price_fen"] == 9900
    # A text edit applies at once; a price change waits, the shelf keeps the approved price.
    edited = client.patch(f"{PORTAL}/products/{pid}", headers=headers,
                          json={"subtitle": "明前", "skus": [{"id": sku, "price_fen": 12900}]})
    assert edited.json["subtitle"] == "明前"
    assert edited.json["review"]["review_status"] == "pending"
    assert edited.json["review"]["pending_changes"] == {str(sku): {"price_fen": 12900}}
    assert client.get(f"{SHOP}/products/{pid}", headers=buyer).json["skus"][0]["price_fen"] == 9900
    pending = client.get(f"{ADMIN}/products?review_status=pending", headers=boss).json["items"]
    assert [p["id"] for p in pending] == [pid]
    approved = client.post(f"{ADMIN}/products/{pid}/review", headers=boss, json={"approve": True})
    assert approved.json["skus"][0]["price_fen"] == 12900 and approved.json["review"]["pending_changes"] is None
    assert client.get(f"{SHOP}/products/{pid}", headers=buyer).json["skus"][0]["price_fen"] == 12900
    # A rejected price change leaves the approved price on the shelf.
    client.patch(f"{PORTAL}/products/{pid}", headers=headers, json={"skus": [{"id": sku, "cost_fen": 1}]})
    kept = client.post(f"{ADMIN}/products/{pid}/review", headers=boss, json={"approve": False, "note": "成本异常"})
    assert (kept.json["review"]["review_status"], kept.json["skus"][0]["cost_fen"], kept.json["on_shelf"]) == (
        "approved", 5000, True)
    assert client.post(f"{PORTAL}/skus/{sku}/stock", headers=headers, json={"delta": 5}).json["stock"] == 15


def test_checkout_splits_by_supplier_each_ships_its_own_and_income_moves_through_the_ledger(
        client, factory, sup, shop, sandbox):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    member = factory.member(t)
    buyer = factory.member_headers(member)
    a_headers, a_id = sup.active(t, boss, rate="0.2", name="甲茶园")
    b_headers, b_id = sup.active(t, boss, name="乙茶园")  # the tenant's 10%
    _, a_sku = sup.product(a_headers, boss, price_fen=10000)
    _, b_sku = sup.product(b_headers, boss, price_fen=5000)
    _, own_sku = shop.product(t, price_fen=3000)
    order = _order(client, buyer, [(a_sku, 1), (b_sku, 2), (own_sku, 1)])
    assert order["payable_fen"] == 23000
    split = client.get(f"{SHOP}/orders/{order['id']}/shipments", headers=buyer).json["items"]
    assert sorted((s["supplier_id"], s["goods_fen"]) for s in split) == [(a_id, 10000), (b_id, 10000)]
    a_sub = next(s["id"] for s in split if s["supplier_id"] == a_id)
    b_sub = next(s["id"] for s in split if s["supplier_id"] == b_id)
    early = client.post(f"{PORTAL}/orders/{a_sub}/ship", headers=a_headers,
                        json={"company": "顺丰速运", "tracking_no": "SF100200300"})
    assert (early.status_code, early.json["code"]) == (409, "order_state_conflict")
    n = shop.payment(t, member, db.session.get(Order, order["id"]))
    (d,) = shop.deliver(n)
    assert d.result.status_code == 204
    # Each supplier sees its own sub-order and lines, never the other's.
    a_list = client.get(f"{PORTAL}/orders", headers=a_headers).json["items"]
    assert [(o["id"], [ln["paid_fen"] for ln in o["lines"]], o["order_status"]) for o in a_list] == [
        (a_sub, [10000], "paid")]
    assert a_list[0]["income"][0]["income_fen"] == 8000 and a_list[0]["income"][0]["status"] == "frozen"
    assert client.get(f"{PORTAL}/orders/{b_sub}", headers=a_headers).status_code == 404
    stolen = client.post(f"{PORTAL}/orders/{b_sub}/ship", headers=a_headers,
                         json={"company": "顺丰速运", "tracking_no": "SF100200300"})
    assert (stolen.status_code, stolen.json["code"]) == (404, "sub_order_not_found")
    shipped = client.post(f"{PORTAL}/orders/{a_sub}/ship", headers=a_headers,
                          json={"company": "顺丰速运", "tracking_no": "SF100200300"})
    assert shipped.json["status"] == "shipped" and shipped.json["logistics"]["tracking_no"] == "SF100200300"
    client.post(f"{PORTAL}/orders/{b_sub}/ship", headers=b_headers, json={"company": "中通快递", "tracking_no": "ZT778899"})
    # The platform's own line is the operator's to ship; then the order is shipped.
    assert client.get(f"{SHOP}/orders/{order['id']}", headers=buyer).json["status"] == "paid"
    client.post(f"/api/v1/admin/shop/orders/{order['id']}/ship", headers=boss,
                json={"company": "京东物流", "tracking_no": "JD0001112"})
    parcels = client.get(f"{SHOP}/orders/{order['id']}/shipments", headers=buyer).json["items"]
    assert sorted(p["logistics"]["tracking_no"] for p in parcels) == ["SF100200300", "ZT778899"]
    # Income: A 10000 − 20% = 8000, B 2×5000 − 10% = 9000, frozen until settlement.
    assert client.get(f"{PORTAL}/income", headers=a_headers).json["frozen_fen"] == 8000
    assert client.get(f"{PORTAL}/income", headers=b_headers).json["frozen_fen"] == 9000
    completed = utcnow()
    _complete(t.id, order["id"], completed)
    assert _settle(completed + timedelta(days=6)) == 0
    assert _settle(completed + timedelta(days=7, seconds=1)) == 2
    assert _settle(completed + timedelta(days=8)) == 0
    a_income = client.get(f"{PORTAL}/income", headers=a_headers).json
    assert (a_income["frozen_fen"], a_income["available_fen"]) == (0, 8000)
    # A refund after settlement, approved by the supplier itself, reverses its income.
    line_a = a_list[0]["lines"][0]["id"]
    asked = client.post(f"{SHOP}/orders/{order['id']}/refunds", headers=buyer,
                        json={"order_line_id": line_a, "reason": "破损"})
    assert asked.status_code == 201
    assert client.post(f"{PORTAL}/refunds/{asked.json['id']}/approve", headers=b_headers).status_code == 404
    approved = client.post(f"{PORTAL}/refunds/{asked.json['id']}/approve", headers=a_headers)
    assert approved.json["status"] == "processing", approved.json
    shop.deliver(sandbox.complete_refund(approved.json["refund_no"]))
    a_income = client.get(f"{PORTAL}/income", headers=a_headers).json
    assert a_income["available_fen"] == 0 and a_income["by_status"]["reversed"]["income_fen"] == 8000
    statement = client.get(f"{PORTAL}/statement", headers=a_headers).json["items"]
    assert [(e["type"], e["account"], e["amount_fen"]) for e in statement] == [
        ("supplier_reverse", "supplier_available", -8000), ("supplier_settle", "supplier_available", 8000),
        ("supplier_settle", "supplier_frozen", -8000), ("supplier_freeze", "supplier_frozen", 8000)]
    csv = client.get(f"{PORTAL}/statement.csv", headers=a_headers)
    assert csv.status_code == 200 and csv.data.decode("utf-8-sig").count("\r\n") == 5
    assert "供应商货款冲回" in csv.data.decode("utf-8-sig")
    operator_csv = client.get(f"{ADMIN}/{a_id}/statement.csv", headers=boss)
    assert operator_csv.data == csv.data
    assert client.get(f"{ADMIN}/{b_id}/statement", headers=boss).json["items"][0]["amount_fen"] == 9000
    with unit_of_work():
        assert ledger.check_ledger(tenant_id=t.id).ok


def test_a_refund_before_settlement_cancels_the_frozen_income(client, factory, sup, shop, sandbox):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    member = factory.member(t)
    headers, sid = sup.active(t, boss)
    _, sku = sup.product(headers, boss, price_fen=8000)
    order = shop.paid_order(t, member, [(sku, 1)])
    assert client.get(f"{PORTAL}/income", headers=headers).json["frozen_fen"] == 7200
    refund = client.post(f"/api/v1/admin/shop/orders/{order.id}/refunds", headers=boss, json={"reason": "缺货"})
    shop.deliver(sandbox.complete_refund(refund.json["refund_no"]))
    income = client.get(f"{PORTAL}/income", headers=headers).json
    assert (income["frozen_fen"], income["available_fen"]) == (0, 0)
    assert income["by_status"] == {"cancelled": {"lines": 1, "paid_fen": 8000, "commission_fen": 800,
                                                 "rewards_fen": 0, "income_fen": 7200}}
    with unit_of_work():
        assert ledger.check_ledger(tenant_id=t.id).ok


def test_rewards_come_out_of_the_suppliers_income_when_the_tenant_says_so(client, factory, sup, shop):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    shop.plan(t)  # 30/20/10% of profit
    client.patch(f"{ADMIN}/settings", headers=boss, json={"suppliers_bear_rewards": True,
                                                          "category_rates": {"茶叶": "5%"}})
    upline = factory.chain(t, 2)
    buyer = factory.member(t, parent=upline[-1])
    headers, _ = sup.active(t, boss)
    _, sku = sup.product(headers, boss, price_fen=10000, cost_fen=6000, category="茶叶")
    placed = _order(client, factory.member_headers(buyer), [(sku, 1)])
    (d,) = shop.deliver(shop.payment(t, buyer, db.session.get(Order, placed["id"])))
    assert d.result.status_code == 204
    (o,) = client.get(f"{PORTAL}/orders", headers=headers).json["items"]
    income = o["income"][0]
    # profit 4000: 30% + 20% = 2000 of rewards; commission 5% (the category's) = 500.
    assert (income["commission_fen"], income["rewards_fen"], income["income_fen"]) == (500, 2000, 7500)


def test_a_supplier_token_reaches_no_staff_route_and_no_other_tenant(client, factory, sup):
    t, other = factory.tenant(), factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    headers, _ = sup.active(t, boss)
    assert client.get("/api/v1/admin/members", headers=headers).status_code == 403
    assert client.get(f"{ADMIN}", headers=headers).status_code == 403
    other_boss = factory.staff_headers(factory.staff(other, "boss"))
    o_headers, o_sid = sup.active(other, other_boss)
    pid, sku = sup.product(o_headers, other_boss)
    assert client.get(f"{PORTAL}/products/{pid}", headers=headers).status_code == 404
    assert client.post(f"{PORTAL}/skus/{sku}/stock", headers=headers, json={"delta": 1}).status_code == 404
    assert client.get(f"{ADMIN}/{o_sid}", headers=boss).status_code == 404
    assert client.patch(f"{PORTAL}/products/{pid}", headers=headers, json={"name": "x"}).status_code == 404


def test_bad_supplier_input_is_refused_with_the_field_named(client, factory, sup):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    bad = client.post(f"{PORTAL}/apply", json={
        "tenant": t.slug, "username": "abc", "password": "password123", "name": "x", "company_name": "公司",
        "license_no": "not-a-license!!", "contact_name": "李", "contact_phone": "139",
        "materials": [{"kind": "执照", "url": "ftp://x/y"}]})
    assert bad.status_code == 400
    fields = {d["field"] for d in bad.json["details"]}
    assert {"contact_phone"} <= fields or "license_no" in fields
    assert client.patch(f"{ADMIN}/settings", headers=boss, json={"commission_rate": "1.5"}).status_code == 400
    assert client.patch(f"{ADMIN}/settings", headers=boss, json={"commission_rate": 0.1}).status_code == 400
    headers, _ = sup.active(t, boss)
    card = client.put(f"{PORTAL}/bank-card", headers=headers, json={"bank_name": "招商银行", "account_name": "甲茶园",
                                                                     "card_no": "6225 8800 1234 5678"})
    assert card.json["bank_card"]["card_no"] == "**** **** **** 5678"
    assert "6225880012345678" not in card.get_data(as_text=True)
    assert client.put(f"{PORTAL}/bank-card", headers=headers,
                      json={"bank_name": "招商银行", "account_name": "甲", "card_no": "12ab34567890"}).status_code == 400


def _settled_supplier(client, factory, sup, shop, t, boss, price_fen=20000):
    """A supplier with `price_fen` × 0.9 settled income, its card set; (headers, id)."""
    member = factory.member(t)
    headers, sid = sup.active(t, boss)
    _, sku = sup.product(headers, boss, price_fen=price_fen)
    order = shop.paid_order(t, member, [(sku, 1)])
    with unit_of_work():
        from backend.orders import service as orders

        orders.ship_order(tenant_id=t.id, order_id=order.id, company="顺丰", tracking_no="SF0001", actor="test",
                          now=utcnow())
    at = utcnow()
    _complete(t.id, order.id, at)
    assert _settle(at + timedelta(days=8)) == 1
    client.put(f"{PORTAL}/bank-card", headers=headers, json={"bank_name": "招商银行", "account_name": "甲茶园",
                                                            "card_no": "6225880012345678"})
    return headers, sid


def test_supplier_withdrawals_follow_the_members_rules_and_are_paid_in_a_bank_batch(client, factory, sup, shop):
    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    client.patch("/api/v1/admin/finance/settings", headers=boss,
                 json={"withdraw_min_fen": 1000, "withdraw_fee_rate": "1%", "withdraw_daily_count": 2})
    headers, sid = _settled_supplier(client, factory, sup, shop, t, boss)  # 18000 available
    small = client.post(f"{PORTAL}/withdrawals", headers=headers, json={"amount_fen": 999})
    assert (small.status_code, small.json["code"]) == (400, "withdraw_below_minimum")
    too_much = client.post(f"{PORTAL}/withdrawals", headers=headers, json={"amount_fen": 18001})
    assert (too_much.status_code, too_much.json["code"]) == (409, "insufficient_balance")
    first = client.post(f"{PORTAL}/withdrawals", headers=headers, json={"amount_fen": 10000, "client_token": "tok-0001"})
    assert (first.status_code, first.json["fee_fen"], first.json["net_fen"]) == (201, 100, 9900)
    assert first.json["card_no"] == "**** **** **** 5678"
    again = client.post(f"{PORTAL}/withdrawals", headers=headers, json={"amount_fen": 10000, "client_token": "tok-0001"})
    assert again.json["id"] == first.json["id"]
    second = client.post(f"{PORTAL}/withdrawals", headers=headers, json={"amount_fen": 5000})
    third = client.post(f"{PORTAL}/withdrawals", headers=headers, json={"amount_fen": 1000})
    assert (third.status_code, third.json["code"]) == (409, "withdraw_daily_limit")
    assert client.get(f"{PORTAL}/income", headers=headers).json["available_fen"] == 3000
    rejected = client.post(f"{ADMIN}/withdrawals/{second.json['id']}/review", headers=boss,
                           json={"approve": False, "note": "资料不符"})
    assert rejected.json["status"] == "rejected"
    assert client.get(f"{PORTAL}/income", headers=headers).json["available_fen"] == 8000
    client.post(f"{ADMIN}/withdrawals/{first.json['id']}/review", headers=boss, json={"approve": True})
    operator = factory.staff_headers(factory.staff(t, "operator"))
    assert client.post(f"{ADMIN}/withdrawals/batches", headers=operator).status_code == 403
    batch = client.post(f"{ADMIN}/withdrawals/batches", headers=boss)
    assert batch.status_code == 200
    text = batch.data.decode("utf-8-sig")
    assert "6225880012345678" in text and "99.00" in text
    batch_no = batch.headers["X-Batch-No"]
    listed = client.get(f"{PORTAL}/withdrawals", headers=headers).get_data(as_text=True)
    assert "6225880012345678" not in listed and "5678" in listed
    done = client.post(f"{ADMIN}/withdrawals/batches/{batch_no}/confirm", headers=boss,
                       json={"paid": [first.json["id"]]})
    assert [w["status"] for w in done.json["items"]] == ["paid"]
    twice = client.post(f"{ADMIN}/withdrawals/batches/{batch_no}/confirm", headers=boss,
                        json={"failed": [{"id": first.json["id"], "reason": "退票"}]})
    assert (twice.status_code, twice.json["code"]) == (409, "withdrawal_state")
    with unit_of_work():
        report = ledger.check_ledger(tenant_id=t.id)
        assert report.ok
        assert ledger.balances_of(tenant_id=t.id, owner_id=0)["offline_clearing"] == 9900


def test_every_supplier_route_keeps_another_tenants_and_another_suppliers_rows_out(client, factory, sup, shop):
    import re

    from miniprogram_api.http import ROUTES

    mark = "乙方机密"
    t, other = factory.tenant(), factory.tenant()
    boss, other_boss = (factory.staff_headers(factory.staff(x, "boss")) for x in (t, other))
    a_headers, _ = sup.active(t, boss, name="甲茶园")
    # Rows of another supplier of the same tenant, and of a supplier of another tenant.
    targets = []
    for tenant, b in ((t, boss), (other, other_boss)):
        b_headers, _ = sup.active(tenant, b, name=mark)
        pid, sku = sup.product(b_headers, b)
        client.patch(f"{PORTAL}/products/{pid}", headers=b_headers, json={"description": mark})
        member = factory.member(tenant)
        placed = client.post(f"{SHOP}/orders", headers=factory.member_headers(member), json={
            "items": [{"sku_id": sku, "quantity": 1}], "receiver": {**RECEIVER, "name": mark}})
        assert placed.status_code == 201
        shop.deliver(shop.payment(tenant, member, db.session.get(Order, placed.json["id"])))
        (sub,) = client.get(f"{PORTAL}/orders", headers=b_headers).json["items"]
        refund = client.post(f"{SHOP}/orders/{placed.json['id']}/refunds", headers=factory.member_headers(member),
                             json={"reason": mark})
        targets.append({"product_id": pid, "sku_id": sku, "sub_order_id": sub["id"], "refund_id": refund.json["id"]})
    checked = 0
    for r in ROUTES:
        if r.auth != "supplier":
            continue
        for ids in targets:
            url = re.sub(r"<([^>]+)>", lambda m, ids=ids: str(ids.get(m.group(1).split(":")[-1], 1)), r.rule)
            resp = client.open(url, method=r.method, headers=a_headers, json={} if r.method != "GET" else None)
            assert resp.status_code < 500, (r.method, url, resp.status_code)
            assert mark not in resp.get_data(as_text=True), (r.method, url)
            checked += 1
    assert checked >= 15
