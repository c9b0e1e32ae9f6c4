"""The back-office money endpoints end to end: settings, withdrawal review and payout
through the sandbox, statements and CSV export, the ledger check, transfer notifications."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.finance.models import Withdrawal
from backend.wechat.sandbox import flask_client_sender
from tests.finance_factories import (
    activate_plan,
    assert_ledger_balanced,
    balances,
    give_available,
    paid_order,
)


def boss(factory, t, role="boss"):
    return factory.staff_headers(factory.staff(t, role=role))


def test_the_boss_changes_finance_settings_and_every_problem_is_listed(client, factory):
    t = factory.tenant()
    h = boss(factory, t)
    assert client.get("/api/v1/admin/finance/settings", headers=h).json["settle_after_days"] == 7
    resp = client.patch("/api/v1/admin/finance/settings", headers=h, json={
        "settle_after_days": 10, "withdraw_fee_rate": "0.6%", "withdraw_daily_limit_fen": 100_000,
        "recharge_bonus": [{"min_fen": 10_000, "bonus_fen": 500}]})
    assert resp.status_code == 200
    assert (resp.json["settle_after_days"], resp.json["withdraw_fee_rate"], resp.json["recharge_bonus"]) == (
        10, "0.6%", [{"min_fen": 10_000, "bonus_fen": 500}])
    resp = client.patch("/api/v1/admin/finance/settings", headers=h, json={"withdraw_daily_limit_fen": None})
    assert resp.json["withdraw_daily_limit_fen"] is None and resp.json["settle_after_days"] == 10
    resp = client.patch("/api/v1/admin/finance/settings", headers=h, json={
        "withdraw_fee_rate": "150%", "withdraw_min_fen": 5})
    assert resp.status_code == 400 and resp.json["code"] == "invalid_finance_settings"
    assert [d["field"] for d in resp.json["details"]] == ["withdraw_min_fen", "withdraw_fee_rate"]
    resp = client.patch("/api/v1/admin/finance/settings", headers=h, json={"settle_after_days": 1.5})
    assert resp.status_code == 400 and resp.json["code"] == "validation_failed"
    audits = db.session.scalars(select(AuditLog.action).where(AuditLog.action == "finance.settings")).all()
    assert len(audits) == 2
    staff = boss(factory, t, role="sales")
    assert client.patch("/api/v1/admin/finance/settings", headers=staff, json={"settle_after_days": 1}).status_code == 403


def test_review_approve_pays_through_wechat_and_the_notification_finishes_it(app, client, factory, sandbox):
    t = factory.tenant()
    m = factory.member(t)
    give_available(t, m, 8000)
    h = boss(factory, t)
    wid = client.post("/api/v1/mp/wallet/withdrawals", headers=factory.member_headers(m),
                      json={"amount_fen": 3000}).json["id"]
    pending = client.get("/api/v1/admin/finance/withdrawals?status=pending", headers=h).json["items"]
    assert [(w["id"], w["member_id"], w["amount_fen"]) for w in pending] == [(wid, m.id, 3000)]
    resp = client.post(f"/api/v1/admin/finance/withdrawals/{wid}/approve", headers=h, json={"note": "核对无误"})
    assert resp.status_code == 200 and resp.json["status"] == "approved"
    detail = client.get(f"/api/v1/admin/finance/withdrawals/{wid}", headers=h).json
    assert (detail["status"], detail["transfer_state"], detail["review_note"]) == (
        "paying", "WAIT_USER_CONFIRM", "核对无误")
    assert detail["reviewed_by"].startswith("staff:") and detail["payout_attempts"] == 1
    mine = client.get(f"/api/v1/mp/wallet/withdrawals/{wid}", headers=factory.member_headers(m)).json
    assert mine["status_text"] == "待确认收款"
    assert mine["confirm"] == {"mchId": t.pay_mchid, "appId": sandbox.transfers[
        (t.pay_mchid, detail["out_bill_no"])].appid, "package": mine["package_info"]}
    n = sandbox.confirm_transfer(detail["out_bill_no"], mchid=t.pay_mchid)
    [d] = sandbox.deliver(n, send=flask_client_sender(app.test_client()))
    assert d.result.status_code == 204
    assert client.get(f"/api/v1/admin/finance/withdrawals/{wid}", headers=h).json["status"] == "paid"
    wallet = client.get("/api/v1/mp/wallet", headers=factory.member_headers(m)).json
    assert (wallet["available_fen"], wallet["withdrawing_fen"], wallet["withdrawn_fen"]) == (5000, 0, 3000)
    resp = client.post(f"/api/v1/admin/finance/withdrawals/{wid}/reject", headers=h, json={"reason": "晚了"})
    assert resp.status_code == 409 and resp.json["code"] == "withdrawal_state"
    assert_ledger_balanced(t)


def test_rejecting_needs_a_reason_and_returns_the_money(client, factory):
    t = factory.tenant()
    m = factory.member(t)
    give_available(t, m, 8000)
    h = boss(factory, t)
    wid = client.post("/api/v1/mp/wallet/withdrawals", headers=factory.member_headers(m),
                      json={"amount_fen": 3000}).json["id"]
    assert client.post(f"/api/v1/admin/finance/withdrawals/{wid}/reject", headers=h, json={}).status_code == 400
    resp = client.post(f"/api/v1/admin/finance/withdrawals/{wid}/reject", headers=h, json={"reason": "账户异常"})
    assert resp.status_code == 200 and resp.json["status"] == "rejected"
    assert balances(t, m)["available"] == 8000
    mine = client.get(f"/api/v1/mp/wallet/withdrawals/{wid}", headers=factory.member_headers(m)).json
    assert (mine["status_text"], mine["review_note"]) == ("已驳回，已退回", "账户异常")


def test_another_tenants_withdrawal_is_not_found(client, factory):
    t1, t2 = factory.tenant(), factory.tenant()
    m = factory.member(t1)
    give_available(t1, m, 8000)
    wid = client.post("/api/v1/mp/wallet/withdrawals", headers=factory.member_headers(m),
                      json={"amount_fen": 3000}).json["id"]
    h2 = boss(factory, t2)
    assert client.post(f"/api/v1/admin/finance/withdrawals/{wid}/approve", headers=h2, json={}).status_code == 404
    assert client.get(f"/api/v1/admin/finance/withdrawals/{wid}", headers=h2).status_code == 404
    assert db.session.get(Withdrawal, wid).status == "pending"


@pytest.mark.parametrize("spoil", [{"forge_signature": True}, {"tamper": True}, {"stale": True}])
def test_forged_tampered_or_stale_transfer_notifications_are_401_and_change_nothing(app, client, factory,
                                                                                     sandbox, spoil):
    t = factory.tenant()
    m = factory.member(t)
    give_available(t, m, 8000)
    h = boss(factory, t)
    wid = client.post("/api/v1/mp/wallet/withdrawals", headers=factory.member_headers(m),
                      json={"amount_fen": 3000}).json["id"]
    client.post(f"/api/v1/admin/finance/withdrawals/{wid}/approve", headers=h, json={})
    bill_no = db.session.get(Withdrawal, wid).out_bill_no
    n = sandbox.fail_transfer(bill_no, mchid=t.pay_mchid)
    [d] = sandbox.deliver(n, send=flask_client_sender(app.test_client()), **spoil)
    assert d.result.status_code == 401
    db.session.expire_all()
    assert db.session.get(Withdrawal, wid).status == "paying"
    assert balances(t, m)["available"] == 5000


def test_the_summary_postings_and_ledger_check_show_where_every_fen_is(client, factory):
    t = factory.tenant()
    activate_plan(t)
    _, b, c, d, e = factory.chain(t, 5)
    order_id, _, _ = paid_order(t, e, [(15000, 5000)])
    h = boss(factory, t)
    summary = client.get("/api/v1/admin/finance/summary", headers=h).json
    assert summary["total_fen"] == 0
    assert {k: v["balance_fen"] for k, v in summary["accounts"].items() if v["balance_fen"]} == {
        "member_frozen": 6000, "merchant": 9000, "wechat_clearing": -15000}
    assert summary["rewards"] == {"frozen": {"lines": 1, "amount_fen": 6000}}
    postings = client.get(f"/api/v1/admin/finance/postings?order_id={order_id}", headers=h).json["items"]
    assert [p["type"] for p in postings] == ["reward_freeze", "order_paid"]
    freeze = postings[0]
    assert sorted((x["owner_id"], x["amount_fen"]) for x in freeze["entries"] if x["owner_id"]) == [
        (b.id, 1000), (c.id, 2000), (d.id, 3000)]
    assert [x["rule"]["title"] for x in freeze["entries"] if x["rule"]] == ["一级佣金", "二级佣金", "三级佣金"]
    check = client.get("/api/v1/admin/finance/ledger/check", headers=h).json
    assert (check["ok"], check["postings"], check["entries"], check["differences"]) == (True, 2, 6, [])
    statement = client.get(f"/api/v1/admin/finance/members/{c.id}/statement", headers=h).json["items"]
    assert [(i["amount_fen"], i["rule"]["explanation"]) for i in statement] == [
        (2000, "二级佣金：利润 100.00 × 20% = 20.00")]


def test_statements_export_as_csv_that_excel_reads(client, factory):
    t = factory.tenant()
    activate_plan(t)
    _, b, c, d, e = factory.chain(t, 5)
    order_id, (line_id,), _ = paid_order(t, e, [(15000, 5000)])
    h = boss(factory, t)
    resp = client.get(f"/api/v1/admin/finance/members/{d.id}/statement.csv", headers=h)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    text = resp.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:6] == ["时间", "流水号", "类型", "账户", "会员ID", "金额(元)"]
    assert rows[1][2:8] == ["佣金冻结", "冻结佣金", str(d.id), "30.00", "3000", str(order_id)]
    assert rows[1][8] == str(line_id) and rows[1][10:12] == ["一级佣金", "一级佣金：利润 100.00 × 30% = 30.00"]
    whole = client.get("/api/v1/admin/finance/statement.csv", headers=h).get_data().decode("utf-8")
    lines = list(csv.reader(io.StringIO(whole.lstrip("\ufeff"))))
    assert len(lines) == 1 + 6 and sum(int(r[6]) for r in lines[1:]) == 0
    empty = client.get("/api/v1/admin/finance/statement.csv?start=2000-01-01T00:00:00Z&end=2000-01-02T00:00:00Z",
                       headers=h).get_data().decode("utf-8")
    assert len(list(csv.reader(io.StringIO(empty.lstrip("\ufeff"))))) == 1
    resp = client.get("/api/v1/admin/finance/statement.csv?start=yesterday", headers=h)
    assert resp.status_code == 400 and resp.json["code"] == "validation_failed"


def test_the_statement_exports_as_an_excel_workbook(client, factory):
    from openpyxl import load_workbook

    t = factory.tenant()
    activate_plan(t)
    _, b, c, d, e = factory.chain(t, 5)
    order_id, (line_id,), _ = paid_order(t, e, [(15000, 5000)])
    h = boss(factory, t)
    resp = client.get(f"/api/v1/admin/finance/members/{d.id}/statement.xlsx", headers=h)
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(resp.get_data()), read_only=True)["对账单"].iter_rows(values_only=True))
    assert rows[0][:6] == ("时间", "流水号", "类型", "账户", "会员ID", "金额(元)")
    assert rows[1][2:8] == ("佣金冻结", "冻结佣金", d.id, 30, 3000, order_id)
    assert rows[1][10:12] == ("一级佣金", "一级佣金：利润 100.00 × 30% = 30.00")
    whole = client.get("/api/v1/admin/finance/statement.xlsx", headers=h)
    sheet = list(load_workbook(io.BytesIO(whole.get_data()), read_only=True)["对账单"].iter_rows(values_only=True))
    assert len(sheet) == 1 + 6 and sum(r[6] for r in sheet[1:]) == 0
    other = boss(factory, factory.tenant())
    assert client.get(f"/api/v1/admin/finance/members/{d.id}/statement.xlsx", headers=other).status_code == 404
