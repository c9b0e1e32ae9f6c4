from sqlalchemy import func, select

from backend.audit.models import AuditLog
from backend.extensions import db
from backend.tenants.models import Tenant

PLATFORM = {"Authorization": "Bearer test-platform-token"}


def test_platform_creates_a_tenant_whose_secrets_never_come_back(client):
    resp = client.post("/api/v1/platform/tenants", headers=PLATFORM, json={
        "slug": "tea-house", "name": "茶舍", "boss_password": "s3cret-pass",
        "credentials": {"mp_appid": "wx0001", "mp_secret": "TOP-SECRET-1",
                        "oa_appid": "wx0002", "oa_token": "TOKEN-XYZ"}})
    assert resp.status_code == 201, resp.json
    assert "TOP-SECRET-1" not in resp.get_data(as_text=True)
    assert resp.json["has_secrets"] == ["mp_secret", "oa_token"]
    row = db.session.scalar(select(Tenant).where(Tenant.slug == "tea-house"))
    assert "TOP-SECRET-1" not in (row.secrets_encrypted or "")  # encrypted at rest
    listing = client.get("/api/v1/platform/tenants", headers=PLATFORM).get_data(as_text=True)
    assert "TOP-SECRET-1" not in listing and "tea-house" in listing
    login = client.post("/api/v1/admin/login", json={
        "tenant": "tea-house", "username": "boss", "password": "s3cret-pass"})
    assert login.status_code == 200 and login.json["staff"]["role"] == "boss"


def test_platform_api_needs_the_platform_token(client):
    resp = client.post("/api/v1/platform/tenants", json={"slug": "abc", "name": "x"})
    assert resp.status_code == 401
    resp = client.post("/api/v1/platform/tenants", headers={"Authorization": "Bearer nope"},
                       json={"slug": "abc", "name": "x"})
    assert resp.status_code == 401
    assert db.session.scalar(select(func.count()).select_from(Tenant)) == 0


def test_duplicate_slug_and_bad_slug_are_refused(client):
    ok = client.post("/api/v1/platform/tenants", headers=PLATFORM, json={"slug": "abc", "name": "x"})
    assert ok.status_code == 201
    dup = client.post("/api/v1/platform/tenants", headers=PLATFORM, json={"slug": "abc", "name": "y"})
    assert (dup.status_code, dup.json["code"]) == (409, "tenant_slug_taken")
    bad = client.post("/api/v1/platform/tenants", headers=PLATFORM, json={"slug": "A B", "name": "y"})
    assert (bad.status_code, bad.json["details"][0]["field"]) == (400, "slug")


def test_wrong_staff_password_is_refused(client, factory):
    t = factory.tenant()
    factory.staff(t)
    resp = client.post("/api/v1/admin/login", json={"tenant": t.slug, "username": "boss1",
                                                    "password": "wrong"})
    assert (resp.status_code, resp.json["code"]) == (401, "bad_credentials")


def test_operator_sets_a_level_by_hand_and_the_audit_shows_it(client, factory):
    t = factory.tenant()
    boss = factory.staff(t, role="boss")
    m = factory.member(t)
    resp = client.patch(f"/api/v1/admin/members/{m.id}", headers=factory.staff_headers(boss),
                        json={"member_level": 3, "promoter_status": "frozen"})
    assert resp.status_code == 200 and resp.json["member_level"] == 3
    audit = client.get("/api/v1/admin/audit", headers=factory.staff_headers(boss)).json["items"]
    assert audit[0]["action"] == "member.adjust" and audit[0]["actor"] == f"staff:{boss.id}"
    assert audit[0]["before"] == {"member_level": 0, "promoter_status": "active"}


def test_sales_staff_cannot_adjust_members_or_policy(client, factory):
    t = factory.tenant()
    sales = factory.staff(t, role="sales")
    m = factory.member(t)
    h = factory.staff_headers(sales)
    assert client.patch(f"/api/v1/admin/members/{m.id}", headers=h,
                        json={"member_level": 3}).status_code == 403
    assert client.patch("/api/v1/admin/tenant/policy", headers=h,
                        json={"allow_rebind": True}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "member.adjust")) == 0


def test_policy_change_is_audited(client, factory):
    t = factory.tenant()
    boss = factory.staff(t)
    resp = client.patch("/api/v1/admin/tenant/policy", headers=factory.staff_headers(boss),
                        json={"bind_on": "purchase", "bind_expire_days": 30})
    assert resp.json["bind_on"] == "purchase" and resp.json["bind_expire_days"] == 30
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "tenant.policy"))
    assert entry.before["bind_on"] == "visit" and entry.after["bind_on"] == "purchase"
