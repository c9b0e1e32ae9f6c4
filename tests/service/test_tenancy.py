"""Tenant scoping in one place (backend/tenancy.py): inside a tenant's scope a query
that forgets tenant_id still returns only that tenant's rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.extensions import db
from backend.members.models import Member
from backend.tenancy import all_tenants, current_tenant, tenant_scope


def _two_brands(factory: Any) -> tuple[Any, Any]:
    a, b = factory.tenant(), factory.tenant()
    for _ in range(2):
        factory.member(a)
    for _ in range(3):
        factory.member(b)
    return a, b


def test_a_query_without_the_tenant_filter_returns_only_the_scoped_tenants_rows(app, factory):
    a, b = _two_brands(factory)
    unscoped = select(Member)  # no tenant_id: the mistake the scope makes harmless
    assert len(db.session.scalars(unscoped).all()) == 5
    with tenant_scope(a.id):
        assert {m.tenant_id for m in db.session.scalars(unscoped)} == {a.id}
        assert db.session.scalar(select(func.count()).select_from(Member)) == 2
        assert db.session.scalar(select(Member).where(Member.tenant_id == b.id)) is None
    with tenant_scope(b.id):
        assert len(db.session.scalars(unscoped).all()) == 3


def test_all_tenants_lifts_the_scope_for_a_block_and_restores_it(app, factory):
    a, _ = _two_brands(factory)
    with tenant_scope(a.id):
        with all_tenants("a check across brands"):
            assert current_tenant() is None
            assert len(db.session.scalars(select(Member)).all()) == 5
        assert current_tenant() == a.id
        assert len(db.session.scalars(select(Member)).all()) == 2
    assert current_tenant() is None


def test_a_member_request_runs_in_its_tenants_scope(app, client, factory, monkeypatch):
    from backend.members import service as members

    a, b = _two_brands(factory)
    seen: list[int | None] = []
    real = members.get_member

    def spy(**kwargs: Any) -> Any:
        seen.append(current_tenant())
        return real(**kwargs)

    monkeypatch.setattr(members, "get_member", spy)
    member = db.session.scalars(select(Member).where(Member.tenant_id == b.id)).first()
    resp = client.get("/api/v1/mp/me", headers=factory.member_headers(member))
    assert resp.status_code == 200, resp.json
    assert seen and set(seen) == {b.id}
