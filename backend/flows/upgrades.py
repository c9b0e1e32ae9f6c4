"""Automatic level and tier upgrades (等级灵活升级, SPEC §4.4), set-based per tenant.

A pass reads what every condition can test, for the whole tenant, in a handful of
statements: the members (tree place, level, tier) in id order, each buyer's sales
(orders), pieces of the products the plan names (orders), recharges (finance). Facts
that depend on the tree are rolled up in memory: referral counts (by level and by
tier) onto parents and grandparents, sales onto every ancestor (team sales). The
rewards engine's pure `decide_upgrade` then runs per active promoter; members with no
facts at all share one decision per (level, tier). Only the members that move are
handed to `rewards.apply_upgrades`, which locks them, decides again on fresh rows and
writes the change with history, referral bonuses and the agent channel's reactions;
this flow adds the audit line and the member's alert.

When: `flows.upgrade_marked_tenants` (every 30 s) runs tenants marked by a paid order,
a recharge or a new direct member (a Redis set: a hint only; losing it delays nothing
past the hourly pass), and `flows.upgrade_all_tenants` passes over every tenant hourly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from backend.audit.service import record_audit
from backend.db import run_in_unit_of_work
from backend.events import listen
from backend.extensions import get_redis
from backend.finance import service as finance
from backend.flows.tenant_pass import each_active_tenant
from backend.members import service as members
from backend.notifications.service import enqueue_alert
from backend.orders import service as orders
from backend.rewards import service as rewards
from backend.rewards.conditions import (
    AllOf,
    AnyOf,
    Condition,
    FactCondition,
    FactKind,
    MemberFacts,
    UpgradeDecision,
    decide_upgrade,
)
from backend.rewards.errors import NoActivePlan
from backend.rewards.plan import Plan

DIRTY_KEY = "siyu:upgrades:dirty"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
FAR = datetime(9999, 1, 1, tzinfo=UTC)
APPLY_BATCH = 500  # members locked and changed per unit of work


# ------------------------------------------------------------------ what the plan asks


def _leaves(c: Condition | None) -> Iterator[FactCondition]:
    if c is None:
        return
    if isinstance(c, FactCondition):
        yield c
    elif isinstance(c, AllOf | AnyOf):
        for item in c.items:
            yield from _leaves(item)


def plan_conditions(plan: Plan) -> list[FactCondition]:
    """Every condition leaf of the plan's level and tier upgrades."""
    out: list[FactCondition] = []
    if plan.agents.enabled:
        for level in plan.agents.levels:
            out += _leaves(level.upgrade)
    if plan.distribution.enabled:
        for tier in plan.distribution.tiers:
            out += _leaves(tier.upgrade)
    return out


# ------------------------------------------------------------------ facts, set-based


@dataclass
class _Acc:
    direct: int = 0
    indirect: int = 0
    direct_by_level: dict[str, int] = field(default_factory=dict)
    indirect_by_level: dict[str, int] = field(default_factory=dict)
    direct_by_tier: dict[str, int] = field(default_factory=dict)
    indirect_by_tier: dict[str, int] = field(default_factory=dict)
    own: int = 0
    direct_team: int = 0
    indirect_team: int = 0
    team: int = 0
    recharge_total: int = 0
    recharge_max: int = 0
    pieces: dict[str, int] = field(default_factory=dict)


def _bump(d: dict[str, int], key: str) -> None:
    d[key] = d.get(key, 0) + 1


def gather_facts(*, tenant_id: int, plan: Plan, page: int = 50_000) -> tuple[list[members.TreeRow],
                                                                             dict[int, _Acc]]:
    """Every member of the tenant and the accumulated facts of those that have any."""
    leaves = plan_conditions(plan)
    kinds = {c.fact for c in leaves}
    rows: list[members.TreeRow] = []
    after = 0
    while True:
        batch = members.tree_rows(tenant_id=tenant_id, after_id=after, limit=page)
        rows += batch
        if len(batch) < page:
            break
        after = batch[-1].id
    acc: dict[int, _Acc] = {}

    def at(member_id: int) -> _Acc:
        a = acc.get(member_id)
        if a is None:
            a = acc[member_id] = _Acc()
        return a

    by_id = {r.id: r for r in rows}
    for r in rows:  # referral counts: each member counts for its parent and grandparent
        tier = r.promoter_tier if r.active_promoter else None
        if r.parent_id is not None:
            a = at(r.parent_id)
            a.direct += 1
            if r.agent_level is not None:
                _bump(a.direct_by_level, r.agent_level)
            if tier is not None:
                _bump(a.direct_by_tier, tier)
        if r.grandparent_id is not None:
            a = at(r.grandparent_id)
            a.indirect += 1
            if r.agent_level is not None:
                _bump(a.indirect_by_level, r.agent_level)
            if tier is not None:
                _bump(a.indirect_by_tier, tier)
    sales_kinds = {FactKind.OWN_SALES, FactKind.DIRECT_TEAM_SALES, FactKind.INDIRECT_TEAM_SALES,
                   FactKind.TEAM_SALES}
    if kinds & sales_kinds:
        for buyer, fen in orders.sales_by_buyer(tenant_id=tenant_id, start=EPOCH, end=FAR).items():
            if buyer not in by_id:
                continue
            r = by_id[buyer]
            at(buyer).own += fen
            if r.parent_id is not None:
                at(r.parent_id).direct_team += fen
            if r.grandparent_id is not None:
                at(r.grandparent_id).indirect_team += fen
            if FactKind.TEAM_SALES in kinds:
                for node in r.path.strip("/").split("/"):  # own purchases count in the team too
                    at(int(node)).team += fen
    if kinds & {FactKind.CUMULATIVE_RECHARGE, FactKind.SINGLE_RECHARGE}:
        for member_id, (total, largest) in finance.recharge_totals(tenant_id=tenant_id, member_ids=None).items():
            a = at(member_id)
            a.recharge_total, a.recharge_max = total, largest
    product_ids = sorted({int(c.product_id) for c in leaves
                          if c.fact == FactKind.PRODUCT_PIECES and c.product_id and c.product_id.isdigit()})
    for (member_id, product_id), pieces in orders.pieces_by_buyer(tenant_id=tenant_id,
                                                                   product_ids=product_ids).items():
        at(member_id).pieces[str(product_id)] = pieces
    return rows, acc


def _facts(r: members.TreeRow, a: _Acc | None, tier: str | None = None) -> MemberFacts:
    if a is None:
        return MemberFacts(member_id=r.id, agent_level=r.agent_level, tier=tier)
    return MemberFacts(
        member_id=r.id, agent_level=r.agent_level, tier=tier, direct_referrals=a.direct, indirect_referrals=a.indirect,
        direct_referrals_by_level=a.direct_by_level, indirect_referrals_by_level=a.indirect_by_level,
        direct_referrals_by_tier=a.direct_by_tier, indirect_referrals_by_tier=a.indirect_by_tier,
        own_sales_fen=a.own, direct_team_sales_fen=a.direct_team, indirect_team_sales_fen=a.indirect_team,
        team_sales_fen=a.team, cumulative_recharge_fen=a.recharge_total, single_recharge_fen=a.recharge_max,
        product_pieces=a.pieces)


def candidates(*, plan: Plan, rows: Iterable[members.TreeRow], acc: dict[int, _Acc]) -> list[MemberFacts]:
    """The facts of the active promoters whose level or tier should change (pure)."""
    out: list[MemberFacts] = []
    empty_decisions: dict[tuple[str | None, str | None], bool] = {}
    for r in rows:
        if not r.active_promoter:
            continue
        tier = r.promoter_tier if r.promoter_tier in plan.tier_by_key else None
        a = acc.get(r.id)
        if a is None:  # nothing to show: one decision per (level, tier) serves them all
            key = (r.agent_level, tier)
            moves = empty_decisions.get(key)
            if moves is None:
                moves = empty_decisions[key] = decide_upgrade(plan, MemberFacts(
                    member_id=0, agent_level=r.agent_level, tier=tier)).changed
            if moves:
                out.append(_facts(r, None, tier))
            continue
        facts = _facts(r, a, tier)  # built once, with the level and tier it is decided on
        if decide_upgrade(plan, facts).changed:
            out.append(facts)
    return out


# ------------------------------------------------------------------ applying


def _announce(tenant_id: int, plan: Plan, decisions: list[UpgradeDecision], now: datetime) -> None:
    level_names = {lv.key: lv.name for lv in plan.agents.levels}
    tier_names = {t.key: t.name for t in plan.distribution.tiers}
    for d in decisions:
        record_audit(tenant_id=tenant_id, actor="system:upgrades", action="member.upgrade", target_type="member",
                     target_id=d.member_id, before={"agent_level": d.level_from, "promoter_tier": d.tier_from},
                     after={"agent_level": d.level_to, "promoter_tier": d.tier_to})
        enqueue_alert(tenant_id=tenant_id, member_id=d.member_id, kind="upgrade",
                      data={"level": level_names.get(d.level_to or "") if d.level_changed else None,
                            "tier": tier_names.get(d.tier_to or "") if d.tier_changed else None},
                      dedupe_key=f"{d.member_id}:{d.level_to}:{d.tier_to}", now=now)


def upgrade_tenant(*, tenant_id: int, now: datetime) -> int:
    """One pass over a tenant; returns how many members moved."""
    def read() -> tuple[Plan, list[MemberFacts]] | None:
        try:
            plan = rewards.get_active_plan(tenant_id=tenant_id)
        except NoActivePlan:
            return None
        if not plan_conditions(plan):
            return None
        rows, acc = gather_facts(tenant_id=tenant_id, plan=plan)
        return plan, candidates(plan=plan, rows=rows, acc=acc)

    found = run_in_unit_of_work(read)
    if not found:
        return 0
    plan, moving = found
    moved = 0
    for i in range(0, len(moving), APPLY_BATCH):
        batch = moving[i:i + APPLY_BATCH]

        def apply(batch: list[MemberFacts] = batch) -> int:
            decisions = rewards.apply_upgrades(tenant_id=tenant_id, facts=batch, actor="system:upgrades")
            _announce(tenant_id, plan, decisions, now)
            return len(decisions)

        moved += run_in_unit_of_work(apply)
    return moved


# ------------------------------------------------------------------ when


def mark_tenant(tenant_id: int) -> None:
    """Ask for a pass over this tenant soon (best effort; the hourly pass catches up)."""
    try:
        get_redis().sadd(DIRTY_KEY, tenant_id)
    except Exception:  # noqa: BLE001 — a hint; Redis down must not fail a payment or a binding
        pass


@listen("orders_followed_up")
def _after_paid(*, tenant_id: int, order_ids: Any, now: datetime) -> None:
    mark_tenant(tenant_id)


@listen("members_bound")
def _after_bound(*, tenant_id: int, bindings: Any, now: datetime) -> None:
    mark_tenant(tenant_id)


@listen("recharge_paid")
def _after_recharge(*, tenant_id: int, member_id: int, amount_fen: int, now: datetime) -> None:
    mark_tenant(tenant_id)


def upgrade_marked(*, now: datetime, limit: int = 20) -> int:
    """Passes over the tenants marked since the last run; returns members moved."""
    moved = 0
    for raw in get_redis().spop(DIRTY_KEY, limit) or ():
        moved += upgrade_tenant(tenant_id=int(raw), now=now)
    return moved


def upgrade_all(*, now: datetime) -> int:
    """A pass over every active tenant."""
    return each_active_tenant(lambda t: upgrade_tenant(tenant_id=t, now=now))
