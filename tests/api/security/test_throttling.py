"""Item 2 of the outside review: log-in throttling per (tenant, username) and per client
address (429 with Retry-After), audited lockouts, the same work for unknown users, and
limits on mini-program login codes, withdrawals, poster renders, the simulator and the
platform API. Limits are lowered here through the real limiter, never switched off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend import ratelimit
from backend.audit.service import list_audit

PLATFORM = {"Authorization": "Bearer test-platform-token"}


@pytest.fixture()
def limits(app) -> Iterator[callable]:
    before = dict(ratelimit.limiter().items)
    yield ratelimit.set_limit
    ratelimit.limiter().items.clear()
    ratelimit.limiter().items.update(before)


def _login(client, tenant, username, password="wrong-password", **kw):
    return client.post("/api/v1/admin/login", json={"tenant": tenant, "username": username,
                                                    "password": password}, **kw)


def test_five_wrong_passwords_lock_the_account_with_retry_after_and_an_audit_entry(client, factory):
    t = factory.tenant()
    op = factory.staff(t, "operator")
    codes = [_login(client, t.slug, op.username).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    locked = _login(client, t.slug, op.username, "password123")  # even the right password
    assert (locked.status_code, locked.json["code"]) == (429, "login_locked")
    assert 1 <= int(locked.headers["Retry-After"]) <= 15 * 60
    [entry] = [e for e in list_audit(tenant_id=t.id) if e.action == "staff.login_locked"]
    assert (entry.target_id, entry.after["retry_after"] > 0) == (op.username, True)
    other = factory.staff(t, "sales")  # another account of the same tenant is not locked
    assert _login(client, t.slug, other.username, "password123").status_code == 200


def test_unknown_users_are_locked_out_alike_and_cost_one_password_check(client, factory, monkeypatch):
    import backend.auth.passwords as passwords

    calls = []
    real = passwords.check_password_hash
    monkeypatch.setattr(passwords, "check_password_hash",
                        lambda h, p: calls.append(h) or real(h, p))
    t = factory.tenant()
    op = factory.staff(t, "operator")
    for tenant, user in ((t.slug, op.username), (t.slug, "nobody"), ("no-such-brand", "boss")):
        calls.clear()
        assert _login(client, tenant, user).status_code == 401
        assert len(calls) == 1  # one real scrypt check, whether or not the account exists
    assert calls[0].startswith(op.password_hash.split("$")[0])  # the same method and cost
    assert [_login(client, t.slug, "nobody").status_code for _ in range(4)][-1] == 429


def test_log_ins_from_one_address_are_limited_whatever_the_username(client, factory, limits):
    limits("staff_login_ip", "3/minute")
    t = factory.tenant()
    codes = [_login(client, t.slug, f"user{i}").status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]
    other = _login(client, t.slug, "user9", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 401  # another address is not held back


def test_mini_program_login_codes_are_limited_per_address(client, factory, limits):
    limits("mp_login_ip", "2/minute")
    t = factory.tenant()
    codes = [client.post("/api/v1/mp/login", json={"tenant": t.slug, "code": f"c{i}"}).status_code
             for i in range(3)]
    assert codes == [200, 200, 429]


def test_withdrawals_are_limited_per_member(client, factory, limits):
    limits("withdraw_member", "2/hour")
    t = factory.tenant()
    h = factory.member_headers(factory.member(t))
    codes = [client.post("/api/v1/mp/wallet/withdrawals", headers=h, json={"amount_fen": 100}
                         ).status_code for _ in range(3)]
    assert codes[:2] != [429, 429] and codes[2] == 429


def test_poster_renders_are_limited_per_member(client, factory, limits):
    limits("poster_member", "1/minute")
    t = factory.tenant()
    h = factory.member_headers(factory.member(t))
    first = client.get("/api/v1/mp/posters/invite", headers=h)
    second = client.get("/api/v1/mp/posters/invite", headers=h)
    assert first.status_code != 429 and second.status_code == 429
    assert int(second.headers["Retry-After"]) >= 1


def test_the_simulator_is_limited_per_staff_account(client, factory, limits):
    limits("simulate_staff", "1/minute")
    t = factory.tenant()
    h = factory.staff_headers(factory.staff(t, "boss"))
    first = client.post("/api/v1/admin/rewards/simulate", headers=h, json={"case": {}})
    second = client.post("/api/v1/admin/rewards/simulate", headers=h, json={"case": {}})
    assert first.status_code != 429 and second.status_code == 429


def test_the_platform_api_is_limited_and_wrong_tokens_more_so(client, limits):
    limits("platform_fail_ip", "2/minute")
    bad = {"Authorization": "Bearer guess"}
    codes = [client.get("/api/v1/platform/tenants", headers=bad).status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    locked_out = client.get("/api/v1/platform/tenants", headers=PLATFORM)
    assert locked_out.status_code == 429  # this address guessed too often
    limits("platform_ip", "1/minute")
    other = {"REMOTE_ADDR": "10.0.0.7"}
    assert client.get("/api/v1/platform/tenants", headers=PLATFORM, environ_base=other).status_code == 200
    assert client.get("/api/v1/platform/tenants", headers=PLATFORM, environ_base=other).status_code == 429


def test_supplier_log_ins_are_locked_out_per_username_and_audited(client, factory):
    from tests.suppliers_factories import SuppliersFactory

    t = factory.tenant()
    SuppliersFactory(client, factory).active(t, factory.staff_headers(factory.staff(t, "boss")))

    def supplier_login(username, password="wrong-password"):
        return client.post("/api/v1/admin/supplier/login", json={
            "tenant": t.slug, "username": username, "password": password})

    assert [supplier_login("supplier1").status_code for _ in range(5)] == [401, 401, 401, 401, 429]
    locked = supplier_login("supplier1", "password123")
    assert (locked.status_code, locked.json["code"]) == (429, "login_locked")
    assert int(locked.headers["Retry-After"]) >= 1
    [entry] = [e for e in list_audit(tenant_id=t.id) if e.action == "supplier.login_locked"]
    assert entry.target_id == "supplier1"
    # A staff account of the same name is a different log-in: not locked.
    factory.staff(t, "operator")
    assert _login(client, t.slug, "supplier1").status_code == 401


def test_a_lockout_against_a_tenant_that_does_not_exist_is_audited_for_the_platform(client, factory):
    from sqlalchemy import select

    from backend.audit.models import AuditLog
    from backend.extensions import db

    factory.tenant()
    assert [_login(client, "no-such-brand", "boss").status_code for _ in range(5)] == [401] * 4 + [429]
    [entry] = db.session.scalars(select(AuditLog).where(AuditLog.action == "staff.login_locked")).all()
    assert (entry.tenant_id, entry.target_id, entry.actor) == (None, "boss", "login:boss")
    assert entry.after["tenant_slug"] == "no-such-brand" and entry.after["retry_after"] > 0


def test_without_trusted_proxies_x_forwarded_for_cannot_pick_the_counted_address(client, factory, limits):
    limits("staff_login_ip", "3/minute")
    t = factory.tenant()
    codes = [_login(client, t.slug, f"user{i}", headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
             for i in range(4)]
    assert codes == [401, 401, 401, 429]  # a fresh header per attempt is still the same address


@pytest.fixture()
def proxied(app) -> Iterator[object]:
    """The web app as deployed behind one reverse proxy (TRUSTED_PROXIES=1), sharing the
    test database and Redis."""
    import dataclasses

    from backend.extensions import db, redis_holder
    from miniprogram_api import create_web_app

    settings = dataclasses.replace(app.config["SIYU_SETTINGS"], trusted_proxies=1,
                                   rate_limits={"staff_login_ip": "3/minute"})
    saved = redis_holder.client, redis_holder.is_real
    try:
        behind = create_web_app(settings)
    finally:
        redis_holder.client, redis_holder.is_real = saved  # one Redis for both apps
    yield behind.test_client()
    with behind.app_context():
        db.engine.dispose()


def test_behind_a_trusted_proxy_each_client_is_counted_by_the_address_the_proxy_saw(proxied, factory):
    t = factory.tenant()
    proxy = {"REMOTE_ADDR": "10.0.0.1"}  # every request arrives from the proxy

    def attempt(forwarded):
        return _login(proxied, t.slug, "someone", environ_base=proxy,
                      headers={"X-Forwarded-For": forwarded}).status_code

    assert [attempt("203.0.113.1") for _ in range(4)] == [401, 401, 401, 429]
    assert attempt("203.0.113.2") == 401  # another client behind the same proxy is not held back
    # A client that writes its own X-Forwarded-For gets the proxy's entry appended after
    # it: only that last entry is read, so 203.0.113.1 cannot pose as a fresh address.
    assert attempt("192.0.2.77, 203.0.113.1") == 429
