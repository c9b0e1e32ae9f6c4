"""Item 4 of the outside review: tokens can be revoked. Deactivation and role changes go
through the service and the API (audited); logout ends every session; tokens of gone
principals and frozen members are refused."""

from __future__ import annotations

from backend.audit.service import list_audit
from backend.auth.tokens import issue_token
from backend.db import unit_of_work
from backend.extensions import db
from backend.members import service as members


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_deactivated_staff_account_is_refused_at_its_next_request(client, factory):
    t = factory.tenant()
    boss, op = factory.staff(t, "boss"), factory.staff(t, "operator")
    op_h = factory.staff_headers(op)
    assert client.get("/api/v1/admin/members", headers=op_h).status_code == 200
    res = client.patch(f"/api/v1/admin/staff/{op.id}", headers=factory.staff_headers(boss),
                       json={"status": "disabled"})
    assert (res.status_code, res.json["status"]) == (200, "disabled")
    refused = client.get("/api/v1/admin/members", headers=op_h)
    assert (refused.status_code, refused.json["code"]) == (401, "token_revoked")
    login = client.post("/api/v1/admin/login", json={"tenant": t.slug, "username": op.username,
                                                    "password": "password123"})
    assert login.status_code == 401
    [entry] = [e for e in list_audit(tenant_id=t.id) if e.action == "staff.update"]
    assert (entry.actor, entry.before, entry.after) == (
        f"staff:{boss.id}", {"status": "active"}, {"status": "disabled"})


def test_a_demoted_operator_loses_the_operators_rights_at_once(client, factory):
    t = factory.tenant()
    boss, op = factory.staff(t, "boss"), factory.staff(t, "operator")
    old = factory.staff_headers(op)
    res = client.patch(f"/api/v1/admin/staff/{op.id}", headers=factory.staff_headers(boss),
                       json={"role": "sales"})
    assert (res.status_code, res.json["role"]) == (200, "sales")
    assert client.get("/api/v1/admin/members", headers=old).json["code"] == "token_revoked"
    db.session.expire_all()
    new = client.post("/api/v1/admin/login", json={"tenant": t.slug, "username": op.username,
                                                  "password": "password123"}).json
    assert new["staff"]["role"] == "sales"
    denied = client.patch("/api/v1/admin/tenant/policy", headers=_h(new["token"]),
                          json={"allow_rebind": True})
    assert denied.status_code == 403


def test_only_the_boss_changes_roles_and_the_boss_account_cannot_be_demoted(client, factory):
    t = factory.tenant()
    boss, op = factory.staff(t, "boss"), factory.staff(t, "operator")
    assert client.patch(f"/api/v1/admin/staff/{boss.id}", headers=factory.staff_headers(op),
                        json={"status": "disabled"}).status_code == 403
    res = client.patch(f"/api/v1/admin/staff/{boss.id}", headers=factory.staff_headers(boss),
                       json={"role": "sales"})
    assert (res.status_code, res.json["code"]) == (403, "boss_protected")


def test_logout_ends_every_session_of_a_staff_account(client, factory):
    t = factory.tenant()
    op = factory.staff(t, "operator")
    a, b = factory.staff_headers(op), factory.staff_headers(op)
    assert client.post("/api/v1/admin/logout", headers=a).status_code == 200
    for h in (a, b):
        assert client.get("/api/v1/admin/tenant", headers=h).json["code"] == "token_revoked"


def test_logout_ends_a_members_sessions(client, factory):
    t = factory.tenant()
    m = factory.member(t)
    h = factory.member_headers(m)
    assert client.post("/api/v1/mp/logout", headers=h).status_code == 200
    assert client.get("/api/v1/mp/me", headers=h).json["code"] == "token_revoked"


def test_a_token_for_a_staff_id_or_member_that_does_not_exist_is_refused(client, factory):
    t = factory.tenant()
    ghost = issue_token(kind="staff", tenant_id=t.id, subject_id=987654, role="boss")
    res = client.get("/api/v1/admin/members", headers=_h(ghost))
    assert (res.status_code, res.json["code"]) == (401, "token_invalid")
    ghost_member = issue_token(kind="member", tenant_id=t.id, subject_id=987654)
    assert client.get("/api/v1/mp/me", headers=_h(ghost_member)).status_code == 401


def test_a_staff_token_moved_to_another_tenant_is_refused(client, factory):
    a, b = factory.tenant(), factory.tenant()
    boss_a = factory.staff(a, "boss")
    forged = issue_token(kind="staff", tenant_id=b.id, subject_id=boss_a.id, role="boss")
    assert client.get("/api/v1/admin/members", headers=_h(forged)).status_code == 401


def test_a_frozen_member_is_refused_and_cannot_log_in_again(client, factory, sandbox):
    t = factory.tenant()
    boss = factory.staff(t, "boss")
    login = client.post("/api/v1/mp/login", json={"tenant": t.slug, "code": "frozen-fan"}).json
    mid, h = login["member"]["id"], _h(login["token"])
    assert client.get("/api/v1/mp/me", headers=h).status_code == 200
    res = client.patch(f"/api/v1/admin/members/{mid}", headers=factory.staff_headers(boss),
                       json={"status": "frozen"})
    assert (res.status_code, res.json["status"]) == (200, "frozen")
    assert client.get("/api/v1/mp/me", headers=h).json["code"] == "token_revoked"
    again = client.post("/api/v1/mp/login", json={"tenant": t.slug, "code": "frozen-fan"})
    assert (again.status_code, again.json["code"]) == (403, "member_frozen")
    with unit_of_work():
        members.adjust_member(tenant_id=t.id, member_id=mid, changes={"status": "active"},
                              actor="test")
    assert client.post("/api/v1/mp/login", json={"tenant": t.slug, "code": "frozen-fan"}
                       ).status_code == 200


def test_a_suspended_tenants_member_and_staff_tokens_are_refused(client, factory):
    # The tenant's status is read on every signed-in request (a narrow read of the one column).
    from backend.tenants.models import Tenant

    t = factory.tenant()
    m, boss = factory.member(t), factory.staff(t, "boss")
    m_h, boss_h = factory.member_headers(m), factory.staff_headers(boss)
    assert client.get("/api/v1/mp/agent/stock", headers=m_h).status_code == 200
    with unit_of_work():
        db.session.get(Tenant, t.id).status = "suspended"
    for path, headers in (("/api/v1/mp/agent/stock", m_h), ("/api/v1/admin/members", boss_h)):
        refused = client.get(path, headers=headers)
        assert (refused.status_code, refused.json["code"]) == (403, "tenant_suspended")


def test_a_tenant_suspended_from_another_process_is_refused_within_the_status_ttl(client, factory, monkeypatch):
    # Each process keeps a tenant's status for TENANT_STATUS_TTL_SECONDS (a surge's every
    # request read it); a suspension written elsewhere (here: straight to the database,
    # as another worker or an operator's script would) is seen once that runs out.
    from sqlalchemy import text

    from backend import process_cache
    from backend.tenants import service as tenants

    assert tenants.TENANT_STATUS_TTL_SECONDS <= 5  # the promptness the trade-off promises
    t = factory.tenant()
    m_h = factory.member_headers(factory.member(t))
    clock = [1000.0]
    monkeypatch.setattr(process_cache, "_clock", lambda: clock[0])
    assert client.get("/api/v1/mp/agent/stock", headers=m_h).status_code == 200
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE tenants SET status = 'suspended' WHERE id = :i"), {"i": t.id})
    db.session.rollback()  # a new request's snapshot (the tests share one session)
    clock[0] += tenants.TENANT_STATUS_TTL_SECONDS / 2
    assert client.get("/api/v1/mp/agent/stock", headers=m_h).status_code == 200  # still within the TTL
    clock[0] += tenants.TENANT_STATUS_TTL_SECONDS / 2 + 0.01
    refused = client.get("/api/v1/mp/agent/stock", headers=m_h)
    assert (refused.status_code, refused.json["code"]) == (403, "tenant_suspended")
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE tenants SET status = 'active' WHERE id = :i"), {"i": t.id})
    db.session.rollback()
    assert client.get("/api/v1/mp/agent/stock", headers=m_h).status_code == 403
    clock[0] += tenants.TENANT_STATUS_TTL_SECONDS + 0.01
    assert client.get("/api/v1/mp/agent/stock", headers=m_h).status_code == 200


def test_a_tenants_status_is_read_once_per_ttl_not_once_per_request(client, factory, monkeypatch):
    from sqlalchemy import event

    from backend import process_cache
    from backend.tenants import service as tenants

    t = factory.tenant()
    m_h = factory.member_headers(factory.member(t))
    clock = [1000.0]
    monkeypatch.setattr(process_cache, "_clock", lambda: clock[0])
    reads: list[str] = []

    def count(_conn, _cursor, statement, *_):
        if "FROM tenants" in statement and "status" in statement.split("FROM")[0]:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            assert client.get("/api/v1/mp/agent/stock", headers=m_h).status_code == 200
        assert len(reads) == 1
        clock[0] += tenants.TENANT_STATUS_TTL_SECONDS + 0.01
        assert client.get("/api/v1/mp/agent/stock", headers=m_h).status_code == 200
        assert len(reads) == 2
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_supplier_logout_ends_every_session_of_that_login_and_no_other(client, factory):
    from tests.suppliers_factories import SuppliersFactory

    t = factory.tenant()
    boss = factory.staff_headers(factory.staff(t, "boss"))
    sup = SuppliersFactory(client, factory)
    applied, sid = sup.active(t, boss)
    username = "supplier1"  # the factory's first application
    second = _h(client.post("/api/v1/admin/supplier/login", json={
        "tenant": t.slug, "username": username, "password": "password123"}).json["token"])
    other, _ = sup.active(t, boss, name="乙茶园")  # another supplier's login
    assert client.get("/api/v1/admin/supplier/me", headers=second).status_code == 200
    res = client.post("/api/v1/admin/supplier/logout", headers=second)
    assert (res.status_code, res.json) == (200, {"ok": True})
    for h in (applied, second):  # the token from the application too
        refused = client.get("/api/v1/admin/supplier/me", headers=h)
        assert (refused.status_code, refused.json["code"]) == (401, "token_revoked")
    assert client.get("/api/v1/admin/supplier/me", headers=other).status_code == 200
    [entry] = [e for e in list_audit(tenant_id=t.id) if e.action == "suppliers.logout"]
    assert entry.target_id == str(sid)
    again = client.post("/api/v1/admin/supplier/login", json={
        "tenant": t.slug, "username": username, "password": "password123"})
    assert client.get("/api/v1/admin/supplier/me", headers=_h(again.json["token"])).status_code == 200


def test_only_member_routes_that_write_may_check_the_token_state_in_their_unit():
    # token_state="in_unit" moves the check into the view's unit of work (rolled back
    # if it fails): never for a GET (no unit), a staff route (roles) or a rate-limited one.
    import pytest
    from flask import Blueprint

    from miniprogram_api.http import route

    bp = Blueprint("in_unit_misuse", __name__)
    for kwargs in ({"auth": "member"}, {"method": "POST", "auth": "staff"},
                   {"method": "POST", "auth": "member", "limit": "mp_login_ip"},
                   {"method": "POST", "auth": "member", "token_state": "later"}):
        with pytest.raises(ValueError):
            route(bp, "/x", **{"token_state": "in_unit", **kwargs})
