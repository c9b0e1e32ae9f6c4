"""The member's money endpoints end to end: wallet, statement with the rule behind each
reward, withdrawals, balance transfers, recharges through the sandbox's WeChat Pay."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.finance.models import Recharge, Withdrawal
from backend.ledger.models import Posting
from backend.wechat.sandbox import flask_client_sender
from tests.finance_factories import (
    activate_plan,
    assert_ledger_balanced,
    balances,
    give_available,
    give_stored,
    paid_order,
    rules,
)


def test_the_wallet_and_statement_show_frozen_rewards_with_the_rule_behind_them(client, factory):
    t = factory.tenant()
    activate_plan(t)
    _, b, c, d, e = factory.chain(t, 5)
    order_id, (line_id,), _ = paid_order(t, e, [(15000, 5000)])
    h = factory.member_headers(d)
    wallet = client.get("/api/v1/mp/wallet", headers=h).json
    assert (wallet["frozen_fen"], wallet["available_fen"], wallet["stored_fen"]) == (3000, 0, 0)
    assert wallet["rules"]["settle_after_days"] == 7 and wallet["rules"]["withdraw_fee_rate"] == "0%"
    statement = client.get("/api/v1/mp/wallet/statement", headers=h).json
    [line] = statement["items"]
    assert (line["type"], line["title"], line["account"], line["amount_fen"], line["amount"]) == (
        "reward_freeze", "佣金冻结", "member_frozen", 3000, "30.00")
    assert (line["order_id"], line["order_line_id"]) == (order_id, line_id)
    assert line["rule"]["kind"] == "dist_l1" and line["rule"]["title"] == "一级佣金"
    assert line["rule"]["explanation"] == "一级佣金：利润 100.00 × 30% = 30.00"
    assert line["rule"]["rate"] == "30%" and line["rule"]["plan_version"] == 1
    assert statement["next_cursor"] is None


def test_the_statement_pages_newest_first(client, factory):
    t = factory.tenant()
    m = factory.member(t)
    for fen in (100, 200, 300):
        give_available(t, m, fen)
    h = factory.member_headers(m)
    first = client.get("/api/v1/mp/wallet/statement?limit=2", headers=h).json
    assert [i["amount_fen"] for i in first["items"]] == [300, 200]
    rest = client.get(f"/api/v1/mp/wallet/statement?limit=2&before_id={first['next_cursor']}", headers=h).json
    assert [i["amount_fen"] for i in rest["items"]] == [100] and rest["next_cursor"] is None


def test_a_member_withdraws_and_sees_it_and_over_available_is_409(client, factory):
    t = factory.tenant()
    rules(t, withdraw_fee_rate="0.6%")
    m = factory.member(t)
    give_available(t, m, 5000)
    h = factory.member_headers(m)
    resp = client.post("/api/v1/mp/wallet/withdrawals", headers=h, json={"amount_fen": 2000})
    assert resp.status_code == 201
    assert {k: resp.json[k] for k in ("amount_fen", "fee_fen", "net_fen", "status", "status_text")} == {
        "amount_fen": 2000, "fee_fen": 12, "net_fen": 1988, "status": "pending", "status_text": "待审核"}
    resp = client.post("/api/v1/mp/wallet/withdrawals", headers=h, json={"amount_fen": 3001})
    assert resp.status_code == 409 and resp.json["code"] == "insufficient_balance"
    assert resp.json["details"] == {"available_fen": 3000, "needed_fen": 3001}
    wallet = client.get("/api/v1/mp/wallet", headers=h).json
    assert (wallet["available_fen"], wallet["withdrawing_fen"], wallet["today"]["withdrawn_fen"]) == (3000, 2000, 2000)
    listed = client.get("/api/v1/mp/wallet/withdrawals", headers=h).json["items"]
    assert [w["amount_fen"] for w in listed] == [2000]
    wid = listed[0]["id"]
    assert client.get(f"/api/v1/mp/wallet/withdrawals/{wid}", headers=h).json["status"] == "pending"
    other = factory.member_headers(factory.member(t))
    assert client.get(f"/api/v1/mp/wallet/withdrawals/{wid}", headers=other).status_code == 404
    resp = client.post(f"/api/v1/mp/wallet/withdrawals/{wid}/cancel", headers=h)
    assert resp.status_code == 200 and resp.json["status"] == "cancelled"
    assert balances(t, m)["available"] == 5000
    assert client.post(f"/api/v1/mp/wallet/withdrawals/{wid}/cancel", headers=h).json["code"] == "withdrawal_state"
    assert_ledger_balanced(t)


@pytest.mark.parametrize("payload", [
    {"amount_fen": "2000"}, {"amount_fen": 20.5}, {"amount_fen": 2000.0}, {"amount_fen": -5}, {"amount_fen": 0},
    {"amount_fen": True}, {"amount_fen": 10**15}, {}, {"amount_fen": 2000, "to": "bank"},
    {"amount_fen": 2000, "client_token": "短"}, {"amount_fen": 2000, "client_token": "bad token!"},
])
def test_malformed_withdrawals_get_a_code_and_write_nothing(client, factory, payload):
    t = factory.tenant()
    m = factory.member(t)
    give_available(t, m, 5000)
    resp = client.post("/api/v1/mp/wallet/withdrawals", headers=factory.member_headers(m), json=payload)
    assert resp.status_code == 400 and resp.json["code"] == "validation_failed"
    assert db.session.scalar(select(func.count()).select_from(Withdrawal)) == 0


def test_money_endpoints_need_the_right_token(client, factory):
    t = factory.tenant()
    m = factory.member(t)
    assert client.get("/api/v1/mp/wallet").status_code == 401
    staff = factory.staff_headers(factory.staff(t, role="boss"))
    assert client.post("/api/v1/mp/wallet/withdrawals", headers=staff, json={"amount_fen": 100}).status_code == 403
    assert client.get("/api/v1/admin/finance/summary", headers=factory.member_headers(m)).status_code == 403


def test_balance_transfers_follow_the_tenant_setting_and_never_overdraw(client, factory):
    t = factory.tenant()
    a, b = factory.member(t), factory.member(t)
    give_stored(t, a, 1000)
    h = factory.member_headers(a)
    body = {"amount_fen": 400, "client_token": "gift-000001", "to_invite_code": b.invite_code, "note": "生日快乐"}
    resp = client.post("/api/v1/mp/wallet/transfers", headers=h, json=body)
    assert resp.status_code == 403 and resp.json["code"] == "transfer_disabled"
    rules(t, transfer_enabled=True)
    resp = client.post("/api/v1/mp/wallet/transfers", headers=h, json=body)
    assert resp.status_code == 201 and resp.json["to_member_id"] == b.id
    again = client.post("/api/v1/mp/wallet/transfers", headers=h, json=body)
    assert again.status_code == 201 and again.json["id"] == resp.json["id"]
    assert (balances(t, a)["stored"], balances(t, b)["stored"]) == (600, 400)
    resp = client.post("/api/v1/mp/wallet/transfers", headers=h,
                       json={"amount_fen": 601, "client_token": "gift-000002", "to_member_id": b.id})
    assert resp.status_code == 409 and resp.json["code"] == "insufficient_balance"
    resp = client.post("/api/v1/mp/wallet/transfers", headers=h,
                       json={"amount_fen": 1, "client_token": "gift-000003", "to_member_id": a.id})
    assert resp.status_code == 400 and resp.json["code"] == "transfer_invalid"
    stranger = factory.member(factory.tenant())
    resp = client.post("/api/v1/mp/wallet/transfers", headers=h,
                       json={"amount_fen": 1, "client_token": "gift-000004", "to_member_id": stranger.id})
    assert resp.status_code == 404 and resp.json["code"] == "member_not_found"
    statement = client.get("/api/v1/mp/wallet/statement?account=member_stored", headers=h).json["items"]
    assert [(i["title"], i["amount_fen"]) for i in statement] == [("余额转赠", -400), ("充值", 1000)]
    assert_ledger_balanced(t)


def recharge(client, factory, t, m, amount):
    resp = client.post("/api/v1/mp/wallet/recharges", headers=factory.member_headers(m), json={"amount_fen": amount})
    assert resp.status_code == 201, resp.json
    return resp.json


def test_a_paid_recharge_credits_stored_value_and_its_bonus_once(app, client, factory, sandbox):
    t = factory.tenant()
    rules(t, recharge_bonus=[{"min_fen": 10_000, "bonus_fen": 1_000}, {"min_fen": 50_000, "bonus_fen": 8_000}])
    m = factory.member(t)
    r = recharge(client, factory, t, m, 20_000)
    assert (r["bonus_fen"], r["status"]) == (1000, "created")
    assert r["request_payment"]["package"].startswith("prepay_id=") and r["request_payment"]["signType"] == "RSA"
    n = sandbox.pay_order(r["out_trade_no"], mchid=t.pay_mchid)
    assert n.url.endswith(f"/api/v1/pay/recharge-notify/{t.slug}")
    results = sandbox.deliver(n, times=4, send=flask_client_sender(app.test_client()))
    assert [d.result.status_code for d in results] == [204] * 4
    assert balances(t, m)["stored"] == 21_000
    got = client.get(f"/api/v1/mp/wallet/recharges/{r['id']}", headers=factory.member_headers(m)).json
    assert got["status"] == "paid"
    assert db.session.scalar(select(func.count()).select_from(Posting).where(Posting.kind == "recharge")) == 1
    assert_ledger_balanced(t)


@pytest.mark.parametrize("spoil", [{"forge_signature": True}, {"tamper": True}, {"stale": True}])
def test_forged_tampered_or_stale_recharge_notifications_are_401_and_change_nothing(app, client, factory, sandbox,
                                                                                     spoil):
    t = factory.tenant()
    m = factory.member(t)
    r = recharge(client, factory, t, m, 5000)
    n = sandbox.pay_order(r["out_trade_no"], mchid=t.pay_mchid)
    [d] = sandbox.deliver(n, send=flask_client_sender(app.test_client()), **spoil)
    assert d.result.status_code == 401
    assert balances(t, m)["stored"] == 0
    assert db.session.scalar(select(Recharge.status)) == "created"


def test_a_recharge_notification_with_another_amount_is_refused_and_recorded(app, client, factory, sandbox):
    t = factory.tenant()
    m = factory.member(t)
    r = recharge(client, factory, t, m, 5000)
    n = sandbox.pay_order(r["out_trade_no"], mchid=t.pay_mchid, paid_fen=500_000)
    [d] = sandbox.deliver(n, send=flask_client_sender(app.test_client()))
    assert d.result.status_code == 400 and '"notification_mismatch"' in d.result.body
    assert balances(t, m)["stored"] == 0
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "finance.recharge_mismatch"))
    assert (audit.target_id, audit.before["amount_fen"], audit.after["amount_fen"]) == (
        r["out_trade_no"], 5000, 500_000)


def test_a_recharge_below_the_minimum_is_refused(client, factory):
    t = factory.tenant()
    m = factory.member(t)
    resp = client.post("/api/v1/mp/wallet/recharges", headers=factory.member_headers(m), json={"amount_fen": 99})
    assert resp.status_code == 400 and resp.json["code"] == "recharge_invalid"
    assert db.session.scalar(select(func.count()).select_from(Recharge)) == 0
