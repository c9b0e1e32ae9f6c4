"""Automatic upgrades end to end (SPEC §4.4): the facts are gathered per tenant
(referrals, team sales from real orders, pieces of a named product), the plan's
conditions decide, and members move with history, audit and an alert; a payment or
a binding marks the tenant for the next pass; a second pass changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from backend.audit.service import list_audit
from backend.db import unit_of_work, utcnow
from backend.extensions import get_redis
from backend.flows import jobs as flow_jobs
from backend.flows.upgrades import DIRTY_KEY, upgrade_tenant
from backend.members import service as members
from backend.notifications.service import list_outbox
from backend.rewards import service as rewards
from tests.orders_factories import OrdersFactory


@pytest.fixture()
def orders(app: Any, sandbox: Any) -> OrdersFactory:
    return OrdersFactory(app, sandbox)


def plan(pack_id: int) -> dict[str, Any]:
    return {"name": "升级测试", "distribution": {"depth": 3, "base": "profit", "tiers": [
        {"key": "normal", "name": "普通推广员", "rates": ["30%", "20%", "10%"]},
        {"key": "silver", "name": "银牌", "rates": ["30%", "20%", "10%"],
         "upgrade": {"fact": "direct_referrals", "min": 2}}]},
        "agents": {"mode": "fixed", "base": "profit", "levels": [
            {"key": "l2", "name": "二级代理", "rate": "5%", "upgrade": {"fact": "team_sales_fen", "min": 100_000}},
            {"key": "l1", "name": "一级代理", "rate": "10%",
             "upgrade": {"fact": "product_pieces", "product_id": str(pack_id), "min": 1}}]}}


def member(tenant: Any, m: Any) -> Any:
    return members.get_member(tenant_id=tenant.id, member_id=m.id)


def test_members_move_up_by_referrals_team_sales_and_a_named_product(factory: Any, orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    pack, pack_sku = orders.product(tenant, name="一级代理礼包", price_fen=99_900)
    _, tea = orders.product(tenant, name="明前龙井", price_fen=60_000)
    orders.plan(tenant, plan(pack))
    a = factory.member(tenant)
    b, c = factory.member(tenant, parent=a), factory.member(tenant, parent=a)
    d = factory.member(tenant, parent=b)

    assert upgrade_tenant(tenant_id=tenant.id, now=utcnow()) == 1  # A: two direct referrals
    assert member(tenant, a).promoter_tier == "silver"

    get_redis().delete(DIRTY_KEY)
    orders.paid_order(tenant, d, [(tea, 2)])  # 1 200 元: D's own team sales, and B's, and A's
    assert get_redis().sismember(DIRTY_KEY, tenant.id)
    assert flow_jobs.upgrade_marked_tenants(now=utcnow()) == 3
    assert [member(tenant, m).agent_level for m in (a, b, c, d)] == ["l2", "l2", None, "l2"]

    orders.paid_order(tenant, c, [(pack_sku, 1)])
    assert flow_jobs.upgrade_marked_tenants(now=utcnow()) == 1
    assert member(tenant, c).agent_level == "l1"
    assert upgrade_tenant(tenant_id=tenant.id, now=utcnow()) == 0  # nothing left to move

    history = [(h.field, h.old_value, h.new_value, h.source) for h in
               rewards.level_history(tenant_id=tenant.id, member_id=a.id)]
    assert ("agent_level", None, "l2", "auto") in history and ("promoter_tier", "normal", "silver", "auto") in [
        (f, o or "normal", n, s) for f, o, n, s in history]
    audit = [x for x in list_audit(tenant_id=tenant.id, target_type="member") if x.action == "member.upgrade"]
    assert {int(x.target_id) for x in audit} == {a.id, b.id, c.id, d.id}
    texts = [m.payload for m in list_outbox(tenant_id=tenant.id, member_id=c.id) if m.kind == "upgrade"]
    assert texts == [{"level": "一级代理", "tier": None}]


def test_frozen_promoters_and_tenants_without_rules_do_not_move(factory: Any, orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    orders.plan(tenant)  # the deck's plan: no upgrade rules
    a = factory.member(tenant)
    factory.member(tenant, parent=a), factory.member(tenant, parent=a)
    assert upgrade_tenant(tenant_id=tenant.id, now=utcnow()) == 0

    other = factory.tenant()
    pack, _ = orders.product(other)
    orders.plan(other, plan(pack))
    x = factory.member(other)
    factory.member(other, parent=x), factory.member(other, parent=x)
    with unit_of_work():
        members.adjust_member(tenant_id=other.id, member_id=x.id, changes={"promoter_status": "frozen"},
                              actor="test")
    assert upgrade_tenant(tenant_id=other.id, now=utcnow()) == 0
    assert member(other, x).promoter_tier != "silver"
