"""The dashboard routes: managers read the period, sales staff may not, bad dates are a
Chinese validation error, a refresh is audited; binding history per member."""

from __future__ import annotations


def test_a_manager_reads_the_dashboard_and_refreshes_it(client, factory):
    tenant = factory.tenant()
    boss = factory.staff(tenant, "boss")
    factory.chain(tenant, 2)
    h = factory.staff_headers(boss)
    r = client.post("/api/v1/admin/dashboard/refresh", headers=h)
    assert r.status_code == 200 and r.json["facts"] > 0
    r = client.get("/api/v1/admin/dashboard?start=2026-01-01&end=2026-01-07", headers=h)
    assert r.status_code == 200
    assert r.json["days"][0] == "2026-01-01" and len(r.json["series"]["sales_fen"]) == 7
    assert r.json["previous"] == {"start": "2025-12-25", "end": "2025-12-31"}
    r = client.get("/api/v1/admin/dashboard", headers=h)
    assert len(r.json["days"]) == 30 and r.json["series"]["new_members"][-1] == 2
    audit = client.get("/api/v1/admin/audit", headers=h).json["items"]
    assert audit[0]["action"] == "analytics.refresh"


def test_sales_staff_may_not_read_the_dashboard(client, factory):
    tenant = factory.tenant()
    r = client.get("/api/v1/admin/dashboard", headers=factory.staff_headers(factory.staff(tenant, "sales")))
    assert r.status_code == 403


def test_a_bad_period_is_a_chinese_error(client, factory):
    h = factory.staff_headers(factory.staff(factory.tenant(), "boss"))
    r = client.get("/api/v1/admin/dashboard?start=2026-02-01&end=2026-01-01", headers=h)
    assert r.status_code == 400 and r.json["code"] == "invalid_period" and "结束日期" in r.json["message"]
    r = client.get("/api/v1/admin/dashboard?start=yesterday", headers=h)
    assert r.status_code == 400 and r.json["details"][0]["field"] == "start"


def test_binding_history_lists_a_members_bindings(client, factory):
    tenant = factory.tenant()
    parent, child = factory.chain(tenant, 2)
    h = factory.staff_headers(factory.staff(tenant, "operator"))
    items = client.get(f"/api/v1/admin/members/{child.id}/bindings", headers=h).json["items"]
    assert [(i["parent_id"], i["ended_at"]) for i in items] == [(parent.id, None)]


def test_the_team_tree_expands_one_level_at_a_time(client, factory):
    tenant = factory.tenant()
    root, child, grandchild = factory.chain(tenant, 3)
    other = factory.member(tenant, parent=root)
    h = factory.staff_headers(factory.staff(tenant, "boss"))
    page = client.get(f"/api/v1/admin/members/{root.id}/children", headers=h).json
    assert [m["id"] for m in page["items"]] == [child.id, other.id] and page["next_cursor"] is None
    assert page["items"][0]["team"]["total"] == 1
    page = client.get(f"/api/v1/admin/members/{root.id}/children?limit=1", headers=h).json
    assert [m["id"] for m in page["items"]] == [child.id] and page["next_cursor"] == child.id
    page = client.get(f"/api/v1/admin/members/{root.id}/children?limit=1&after_id={child.id}", headers=h).json
    assert [m["id"] for m in page["items"]] == [other.id]
    sales = factory.staff_headers(factory.staff(tenant, "sales"))
    assert client.get(f"/api/v1/admin/members/{root.id}/children", headers=sales).status_code == 403


def test_a_level_change_keeps_its_reason_in_the_audit(client, factory, sandbox):
    from tests.orders_factories import OrdersFactory

    tenant = factory.tenant()
    OrdersFactory(client.application, sandbox).plan(tenant)
    member = factory.member(tenant)
    h = factory.staff_headers(factory.staff(tenant, "boss"))
    r = client.put(f"/api/v1/admin/rewards/members/{member.id}/level", headers=h,
                   json={"promoter_tier": "normal", "reason": "线下培训合格"})
    assert r.status_code == 200, r.json
    entry = client.get("/api/v1/admin/audit", headers=h).json["items"][0]
    assert entry["action"] == "rewards.set_level" and entry["after"]["reason"] == "线下培训合格"


def test_the_platform_sees_each_tenants_load_of_the_day(client, factory):
    from backend.analytics import service as analytics
    from backend.db import unit_of_work, utcnow

    quiet, busy = factory.tenant(), factory.tenant()
    factory.chain(busy, 3)
    with unit_of_work():
        analytics.refresh_now(tenant_id=busy.id, now=utcnow(), actor="test")
        analytics.refresh_now(tenant_id=quiet.id, now=utcnow(), actor="test")
    h = {"Authorization": "Bearer " + client.application.config["SIYU_SETTINGS"].platform_admin_token}
    body = client.get("/api/v1/platform/load", headers=h).json
    assert body["tenants"][0]["tenant_id"] == busy.id and body["tenants"][0]["new_members"] == 3
    assert body["totals"]["new_members"] == 3 and body["totals"]["bindings"] == 2
    assert client.get("/api/v1/platform/load", headers=factory.staff_headers(factory.staff(busy))).status_code in (
        401, 403)
