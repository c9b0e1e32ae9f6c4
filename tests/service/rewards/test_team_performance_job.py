"""The monthly team performance bonus (团队业绩奖, SPEC §4.3) from real orders: each
agent's team sales rolled up the tree, the plan's tiers, less what agents below took,
once per month however often the job runs, then credited to the agents' balances."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.db import unit_of_work, utcnow
from backend.finance.service import credit_recorded_bonuses
from backend.finance.statements import wallet
from backend.flows import jobs as flow_jobs
from backend.flows.team_performance import CHINA, previous_month, record_month
from backend.rewards import service as rewards
from tests.orders_factories import OrdersFactory

PLAN = json.loads((Path(__file__).parents[3] / "docs/examples/three_plus_three.json").read_text())["plan"]


@pytest.fixture()
def orders(app: Any, sandbox: Any) -> OrdersFactory:
    return OrdersFactory(app, sandbox)


def next_month_start() -> datetime:
    """Noon on the 2nd of next month, China time: 'last month' is then this one."""
    here = utcnow().astimezone(CHINA)
    following = (here.replace(day=1) + timedelta(days=40)).replace(day=2, hour=12, minute=0)
    return following.astimezone(UTC)


def test_previous_month_is_the_china_calendar_month() -> None:
    # 2026-12-01 03:00 China time is still 2026-11-30 19:00 UTC
    period, start, end = previous_month(datetime(2026, 11, 30, 19, 0, tzinfo=UTC))
    assert (period, start, end) == ("2026-11", datetime(2026, 10, 31, 16, 0, tzinfo=UTC),
                                    datetime(2026, 11, 30, 16, 0, tzinfo=UTC))


def test_last_months_team_sales_pay_each_agent_less_what_agents_below_took(
        factory: Any, orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    orders.plan(tenant, PLAN)
    a, b, c, d = factory.chain(tenant, 4)  # A brought B, B brought C, C brought D
    with unit_of_work():
        rewards.set_member_level(tenant_id=tenant.id, member_id=a.id, agent_level="l1", actor="test")
        rewards.set_member_level(tenant_id=tenant.id, member_id=b.id, agent_level="l2", actor="test")
    _, big = orders.product(tenant, price_fen=6_000_000, cost_fen=3_000_000)
    orders.paid_order(tenant, d, [(big, 1)])  # in B's team (and A's)
    orders.paid_order(tenant, a, [(big, 1)])  # A's own purchase: A's team only
    later = next_month_start()

    with unit_of_work():
        recorded = record_month(tenant_id=tenant.id, now=later)
    assert recorded == 2
    period = previous_month(later)[0]
    lines = {p.beneficiary_id: p for p in rewards.list_payouts(tenant_id=tenant.id)
             if p.source_key == f"team:{period}"}
    # B: team 60 000 元 → tier 2 % = 1 200 元; A: team 120 000 元 → 3 % = 3 600 元 − B's 1 200 元
    assert lines[b.id].amount_fen == 120_000 and lines[b.id].base_fen == 6_000_000
    assert lines[a.id].amount_fen == 240_000 and lines[a.id].base_fen == 12_000_000
    assert "团队内下级代理已得" in lines[a.id].explanation and "1200" in lines[a.id].explanation

    with unit_of_work():
        assert record_month(tenant_id=tenant.id, now=later) == 0  # a month is paid once
    assert flow_jobs.record_team_performance(now=later) == 0

    with unit_of_work():
        credit_recorded_bonuses(now=later + timedelta(hours=1))
    before = wallet(tenant_id=tenant.id, member_id=b.id, now=later)["available_fen"]
    with unit_of_work():
        credit_recorded_bonuses(now=later + timedelta(hours=1))  # a no-op now: credited once
    assert wallet(tenant_id=tenant.id, member_id=b.id, now=later)["available_fen"] == before >= 120_000


def test_the_job_pays_nothing_where_the_plan_has_no_team_bonus(factory: Any, orders: OrdersFactory) -> None:
    tenant = factory.tenant()
    orders.plan(tenant)  # the deck's distribution plan: no agents
    buyer = factory.member(tenant)
    _, sku = orders.product(tenant, price_fen=6_000_000)
    orders.paid_order(tenant, buyer, [(sku, 1)])
    with unit_of_work():
        assert record_month(tenant_id=tenant.id, now=next_month_start()) == 0
