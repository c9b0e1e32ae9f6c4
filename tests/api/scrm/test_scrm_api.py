"""The SCRM API: a sales day end to end over HTTP, the boss's back-office, roles, and bad
input answered with a code."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from backend.audit.models import AuditLog
from backend.db import utcnow
from backend.extensions import db
from backend.scrm.access import china_day
from tests.unit.posters.conftest import read_qr_texts


def test_a_sales_day_over_http(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    boss, sales = factory.staff(tenant, "boss"), factory.staff(tenant, "sales")
    bh, sh = factory.staff_headers(boss), factory.staff_headers(sales)
    member = factory.member(tenant, nickname="王女士")

    group = client.post("/api/v1/admin/scrm/tag-groups", headers=bh,
                        json={"name": "意向", "exclusive": True, "tags": ["高", "低"]})
    assert group.status_code == 201, group.json
    high, low = (t["id"] for t in group.json["tags"])
    code = client.post(f"/api/v1/admin/scrm/staff/{sales.id}/codes", headers=bh,
                       json={"kind": "mp", "channel": "门店"})
    assert code.status_code == 201 and code.json["state"] == f"s={sales.id}"

    mine = client.get("/api/v1/scrm/me/code", headers=sh).json
    png = base64.b64decode(mine["image"].split(",", 1)[1])
    assert read_qr_texts(png) == [f"s={sales.id}"] == [mine["scene"]]

    arrived = client.post("/api/v1/mp/scrm/arrive", headers=factory.member_headers(member),
                          json={"scene": mine["scene"]})
    assert arrived.json == {"status": "assigned", "bind_status": "unchanged"}
    phone = client.post("/api/v1/mp/scrm/phone", headers=factory.member_headers(member),
                        json={"code": "p:13812345678"})
    assert phone.json == {"phone": "138****5678"}

    listing = client.get("/api/v1/scrm/customers", headers=sh).json
    [customer] = listing["items"]
    assert (customer["name"], customer["phone"], customer["channel"], customer["owner_name"]) == (
        "王女士", "138****5678", "门店", "sales")  # sales lack pii.read
    cid = customer["id"]

    tagged = client.put(f"/api/v1/scrm/customers/{cid}/tags", headers=sh, json={"add": [low]})
    tagged = client.put(f"/api/v1/scrm/customers/{cid}/tags", headers=sh, json={"add": [high]})
    assert [t["name"] for t in tagged.json["tags"]] == ["高"]
    note = client.post(f"/api/v1/scrm/customers/{cid}/remarks", headers=sh,
                       json={"content": "电话沟通，想要礼盒", "follow_up": True})
    assert note.status_code == 201 and note.json["kind"] == "follow_up"
    due = (utcnow() + timedelta(days=1)).isoformat()
    reminder = client.post(f"/api/v1/scrm/customers/{cid}/reminders", headers=sh,
                           json={"due_at": due, "note": "礼盒到货后通知"})
    assert reminder.status_code == 201
    card = client.get(f"/api/v1/scrm/customers/{cid}", headers=sh).json
    assert card["tag_groups"] == [{"group": "意向", "tags": ["高"]}]
    assert [r["content"] for r in card["remarks"]] == ["电话沟通，想要礼盒"]
    assert [r["note"] for r in card["reminders"]] == ["礼盒到货后通知"]
    done = client.post(f"/api/v1/scrm/reminders/{reminder.json['id']}/done", headers=sh,
                       json={"note": "已通知"})
    assert done.json["status"] == "done"
    kinds = [e["kind"] for e in client.get(f"/api/v1/scrm/customers/{cid}/timeline",
                                           headers=sh).json["items"]]
    assert kinds == ["follow_up", "reminder", "follow_up", "tag_remove", "tag_add", "tag_add",
                     "phone", "added"]

    today = china_day(utcnow()).isoformat()
    report = client.get(f"/api/v1/admin/scrm/workload?start={today}&end={today}", headers=bh).json
    [mine_row] = [s for s in report["staff"] if s["staff_id"] == sales.id]
    assert {k: mine_row["total"][k] for k in ("customers_added", "customers_tagged",
                                              "customers_followed_up")} == {
        "customers_added": 1, "customers_tagged": 1, "customers_followed_up": 1}
    assert client.get("/api/v1/admin/scrm/workload", headers=sh).status_code == 403


def test_the_boss_hands_a_leavers_customers_over_and_managers_see_the_history(
        client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    boss, operator = factory.staff(tenant, "boss"), factory.staff(tenant, "operator")
    leaver, heir = factory.staff(tenant, "sales"), factory.staff(tenant, "sales")
    created = [client.post("/api/v1/scrm/customers", headers=factory.staff_headers(leaver),
                           json={"name": f"客户{i}", "phone": f"1380000000{i}"}).json["id"]
               for i in range(3)]
    denied = client.post("/api/v1/admin/scrm/handover", headers=factory.staff_headers(operator),
                         json={"from_staff_id": leaver.id, "to_staff_id": heir.id})
    assert (denied.status_code, denied.json["code"]) == (403, "role_forbidden")
    moved = client.post("/api/v1/admin/scrm/handover", headers=factory.staff_headers(boss),
                        json={"from_staff_id": leaver.id, "to_staff_id": heir.id})
    assert moved.json == {"moved": 3}
    heirs = client.get("/api/v1/scrm/customers", headers=factory.staff_headers(heir)).json
    assert [c["id"] for c in heirs["items"]] == created
    assert client.get("/api/v1/scrm/customers", headers=factory.staff_headers(leaver)).json[
        "items"] == []
    history = client.get(f"/api/v1/admin/scrm/customers/{created[0]}/ownership",
                         headers=factory.staff_headers(operator)).json["items"]
    assert [(h["staff_id"], h["reason"], h["end_reason"]) for h in history] == [
        (leaver.id, "manual", "handover"), (heir.id, "handover", None)]
    assert db.session.scalar(select(AuditLog.actor).where(AuditLog.action == "scrm.handover")) == \
        f"staff:{boss.id}"


def test_sales_staff_cannot_reach_other_staff_customers_or_manage_tags(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    a, b = factory.staff(tenant, "sales"), factory.staff(tenant, "sales")
    theirs = client.post("/api/v1/scrm/customers", headers=factory.staff_headers(b),
                         json={"name": "乙的客户"}).json["id"]
    ah = factory.staff_headers(a)
    for method, url, body in [
        ("get", f"/api/v1/scrm/customers/{theirs}", None),
        ("put", f"/api/v1/scrm/customers/{theirs}/tags", {"add": []}),
        ("post", f"/api/v1/scrm/customers/{theirs}/remarks", {"content": "偷看"}),
        ("get", f"/api/v1/scrm/customers/{theirs}/timeline", None),
    ]:
        resp = getattr(client, method)(url, headers=ah, json=body)
        assert (resp.status_code, resp.json["code"]) == (403, "customer_not_yours"), url
    resp = client.post("/api/v1/admin/scrm/tag-groups", headers=ah, json={"name": "x"})
    assert (resp.status_code, resp.json["code"]) == (403, "role_forbidden")


def test_bad_input_gets_a_code(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    boss, sales = factory.staff(tenant, "boss"), factory.staff(tenant, "sales")
    bh, sh = factory.staff_headers(boss), factory.staff_headers(sales)
    cid = client.post("/api/v1/scrm/customers", headers=sh,
                      json={"name": "张三", "phone": "13800138000"}).json["id"]
    member = factory.member(tenant)
    cases = [
        (sh, "post", "/api/v1/scrm/customers", {"name": "李四", "phone": "13800138000"}, 409,
         "customer_exists"),
        (sh, "post", "/api/v1/scrm/customers", {"name": "李四", "phone": "123"}, 400,
         "invalid_customer_field"),
        (sh, "post", "/api/v1/scrm/customers", {"name": "李四", "vip": True}, 400, "validation_failed"),
        (sh, "put", f"/api/v1/scrm/customers/{cid}/tags", {"add": [987654]}, 404, "tag_not_found"),
        (sh, "post", f"/api/v1/scrm/customers/{cid}/reminders", {"due_at": "2020-01-01T00:00:00"},
         400, "validation_failed"),
        (sh, "post", f"/api/v1/scrm/customers/{cid}/reminders",
         {"due_at": "2020-01-01T00:00:00+08:00"}, 400, "invalid_reminder"),
        (sh, "get", "/api/v1/scrm/customers?tag_ids=1,x", None, 400, "validation_failed"),
        (sh, "post", "/api/v1/scrm/reminders/424242/done", {}, 404, "reminder_not_found"),
        (bh, "post", "/api/v1/admin/scrm/tag-rules", {"tag_id": 1, "kind": "keyword",
                                                      "params": {"keywords": []}}, 404,
         "tag_not_found"),
        (bh, "post", f"/api/v1/admin/scrm/staff/{sales.id}/codes", {"kind": "wecom"}, 409,
         "wecom_user_missing"),
        (bh, "get", "/api/v1/admin/scrm/workload?start=2026-03-02&end=2026-03-01", None, 400,
         "invalid_period"),
        (bh, "post", "/api/v1/admin/scrm/handover", {"from_staff_id": sales.id,
                                                     "to_staff_id": sales.id}, 400,
         "invalid_handover"),
        (factory.member_headers(member), "post", "/api/v1/mp/scrm/arrive", {"scene": "s=abc"}, 400,
         "invalid_scene"),
        (factory.member_headers(member), "post", "/api/v1/mp/scrm/arrive", {"scene": "s=424242"},
         404, "staff_not_found"),
        (factory.member_headers(member), "post", "/api/v1/mp/scrm/phone", {"code": "invalid-x"},
         400, "invalid_phone_code"),
    ]
    for headers, method, url, body, status, code in cases:
        resp = getattr(client, method)(url, headers=headers, json=body)
        assert (resp.status_code, resp.json["code"]) == (status, code), (url, body, resp.json)
    group = client.post("/api/v1/admin/scrm/tag-groups", headers=bh, json={"name": "来源", "tags": ["门店"]})
    tag_id = group.json["tags"][0]["id"]
    bad_rule = client.post("/api/v1/admin/scrm/tag-rules", headers=bh,
                           json={"tag_id": tag_id, "kind": "purchase", "params": {"min_orders": -1}})
    assert (bad_rule.status_code, bad_rule.json["code"]) == (400, "invalid_tag_rule")
    assert [d["field"] for d in bad_rule.json["details"]] == ["params.min_orders"]
