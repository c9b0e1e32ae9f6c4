"""backend/process_cache.py: a tenant's settings snapshot kept per process for a short
time, dropped at once when this process writes the row through the ORM."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from backend import process_cache
from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.rewards import service as rewards
from backend.rewards.errors import NoActivePlan
from backend.suppliers import service as suppliers

PLAN = {"name": "代理", "agents": {"mode": "difference", "base": "paid", "levels": [
    {"key": "l2", "name": "二级代理", "rate": "5%"}, {"key": "l1", "name": "一级代理", "rate": "10%"}]}}


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(process_cache, "_clock", lambda: now[0])
    return now


def test_a_plan_activated_here_is_seen_at_once_and_one_activated_elsewhere_within_the_ttl(app, factory, clock):
    t = factory.tenant()
    with pytest.raises(NoActivePlan):
        rewards.active_plan_kept(tenant_id=t.id)
    with unit_of_work():  # through this process (the ORM): at once
        first = rewards.save_plan_version(tenant_id=t.id, document=PLAN, actor="test")
        rewards.activate_plan(tenant_id=t.id, version=first.version, actor="test", now=utcnow())
    assert rewards.active_plan_kept(tenant_id=t.id).version == first.version
    with unit_of_work():
        second = rewards.save_plan_version(tenant_id=t.id, document={**PLAN, "name": "新方案"}, actor="test")
    assert rewards.active_plan_kept(tenant_id=t.id).version == first.version  # a draft saved: still the first
    with db.engine.begin() as conn:  # activated by another process: no ORM write here
        conn.execute(text("UPDATE reward_plans SET status = CASE WHEN version = :v THEN 'active' ELSE 'retired' END "
                          "WHERE tenant_id = :t"), {"v": second.version, "t": t.id})
    db.session.rollback()
    assert rewards.active_plan_kept(tenant_id=t.id).version == first.version  # within the TTL
    assert rewards.get_active_plan(tenant_id=t.id).version == second.version  # rewards read it afresh
    clock[0] += rewards.PLAN_TTL_SECONDS + 0.01
    assert rewards.active_plan_kept(tenant_id=t.id).version == second.version


def test_a_supplier_product_inserted_elsewhere_is_seen_by_the_order_hook_within_the_ttl(app, factory, clock):
    t = factory.tenant()
    assert suppliers.has_suppliers_kept(tenant_id=t.id) is False
    with db.engine.begin() as conn:  # another process's submission: seen once the kept answer expires
        conn.execute(text("INSERT INTO supplier_products (tenant_id, supplier_id, product_id, review_status, "
                          "submitted_at) VALUES (:t, 1, 1, 'pending', :now)"), {"t": t.id, "now": utcnow()})
    db.session.rollback()
    assert suppliers.has_suppliers(tenant_id=t.id) is True
    assert suppliers.has_suppliers_kept(tenant_id=t.id) is False
    clock[0] += suppliers.SUPPLIERS_TTL_SECONDS + 0.01
    assert suppliers.has_suppliers_kept(tenant_id=t.id) is True
