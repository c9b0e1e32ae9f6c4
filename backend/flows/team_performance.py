"""The team performance bonus (团队业绩奖, SPEC §4.3), once per month.

For the month before `now` (China time), each agent's team sales are the sales of every
member in its subtree, its own included: the period's buyers (orders) are rolled up
their materialized paths (members) onto the agents above them, and each agent's
nearest agent above is read from its own path. The rewards engine applies the plan's
tiers (paid to the highest level or to every agent, less what agents below took); the
bonuses are recorded as payouts keyed by the period, so a period is paid once however
often the job runs, and the finance job credits them to the agents' balances.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.db import run_in_unit_of_work
from backend.flows.tenant_pass import each_active_tenant
from backend.members import service as members
from backend.orders import service as orders
from backend.rewards import service as rewards
from backend.rewards.engine import AgentTeam
from backend.rewards.errors import NoActivePlan
from backend.types import CHINA_TZ, china_day  # noqa: F401  (re-exported)

CHINA = CHINA_TZ


def previous_month(now: datetime) -> tuple[str, datetime, datetime]:
    """("2026-11", start, end) of the China-time month before `now`, as UTC instants."""
    local = now.astimezone(CHINA)
    end = datetime(local.year, local.month, 1, tzinfo=CHINA)
    last = end - timedelta(days=1)
    start = datetime(last.year, last.month, 1, tzinfo=CHINA)
    return f"{last.year:04d}-{last.month:02d}", start.astimezone(UTC), end.astimezone(UTC)


def team_sales(*, tenant_id: int, start: datetime, end: datetime) -> list[AgentTeam]:
    """Every agent whose team sold anything in [start, end), with its team's sales and
    its nearest agent above (set-based: one read of agents, one of sales, one of paths)."""
    agents = {a.id: a for a in members.agents_of(tenant_id=tenant_id)}
    if not agents:
        return []
    sales = orders.sales_by_buyer(tenant_id=tenant_id, start=start, end=end)
    paths = members.paths_of(tenant_id=tenant_id, member_ids=list(sales))
    totals: dict[int, int] = {}
    for buyer, fen in sales.items():
        for node in _ids(paths.get(buyer, "")):
            if node in agents:
                totals[node] = totals.get(node, 0) + fen
    teams = []
    for agent_id, fen in sorted(totals.items()):
        a = agents[agent_id]
        above = [n for n in _ids(a.path)[:-1] if n in agents]
        teams.append(AgentTeam(member_id=agent_id, agent_level=a.agent_level, team_sales_fen=fen,
                               upline_agent_id=above[-1] if above else None, promoter_active=a.promoter_active))
    return teams


def _ids(path: str) -> list[int]:
    return [int(p) for p in path.strip("/").split("/") if p]


def record_month(*, tenant_id: int, now: datetime) -> int:
    """Record last month's team performance bonuses for one tenant, once; returns how
    many bonus lines were recorded now (0 when done before or nothing is due)."""
    period, start, end = previous_month(now)
    if rewards.team_period_recorded(tenant_id=tenant_id, period=period):
        return 0
    try:
        plan = rewards.get_active_plan(tenant_id=tenant_id)
    except NoActivePlan:
        return 0
    if not plan.agents.enabled or plan.agents.team_performance is None:
        return 0
    teams = team_sales(tenant_id=tenant_id, start=start, end=end)
    return len(rewards.record_team_performance(tenant_id=tenant_id, period=period, teams=teams))


def record_all(*, now: datetime) -> int:
    """Every active tenant's last month, each tenant in a unit of work of its own;
    returns how many bonus lines were recorded."""
    return each_active_tenant(lambda t: run_in_unit_of_work(lambda: record_month(tenant_id=t, now=now)))
