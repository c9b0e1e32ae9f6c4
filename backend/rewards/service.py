"""Reward verbs: plan versions, recording payouts for paid order lines, the simulator,
replays of a draft plan, upgrades (automatic and by hand), referral and team bonuses.

Keyword-only functions that never commit: the caller's unit of work does. The rules
themselves live in the pure modules (plan, engine, conditions, simulate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select

from backend import bulk
from backend.audit.service import record_audit
from backend.db import newest_first
from backend.events import announce
from backend.extensions import db
from backend.members import service as members
from backend.members.service import get_member
from backend.members.types import MemberInfo, PromoterStatus
from backend.money import rate_text, yuan
from backend.process_cache import ProcessCache
from backend.rewards.conditions import MemberFacts, UpgradeDecision, decide_upgrade
from backend.rewards.engine import (
    AgentTeam,
    Buyer,
    ChainMember,
    OrderLine,
    PayoutKind,
    PayoutLine,
    compute_payouts,
    referral_bonuses,
    team_performance_bonuses,
)
from backend.rewards.errors import InvalidCase, NoActivePlan, PlanVersionNotFound, UnknownLevel
from backend.rewards.models import LevelChange, Payout, RewardLine, RewardPlan
from backend.rewards.plan import Plan, parse_plan, plan_to_json
from backend.rewards.simulate import simulate_document
from backend.rewards.types import PlanStatus
from backend.tenants import service as tenants

# ------------------------------------------------------------------ plans

# Parsed plans, per stored version. A version's document never changes (every change
# is a new version), so a version is parsed once per process. The row's id and
# created_at are part of the key so that a database emptied and refilled (tests, a
# restore) cannot hand out the plan of an earlier row that had the same numbers.
_PLAN_CACHE: dict[tuple[int, int, int, datetime], Plan] = {}
_PLAN_CACHE_SIZE = 256


def validate_plan(*, document: Any) -> Plan:
    """Parse and validate a plan document without saving it (raises InvalidPlan)."""
    return parse_plan(document)


def _cached_plan(tenant_id: int, version: int, row_id: int, created_at: datetime,
                 document: Callable[[], Any]) -> Plan:
    key = (tenant_id, version, row_id, created_at)
    plan = _PLAN_CACHE.get(key)
    if plan is None:
        if len(_PLAN_CACHE) >= _PLAN_CACHE_SIZE:
            _PLAN_CACHE.clear()
        plan = _PLAN_CACHE[key] = parse_plan(document(), version=version)
    return plan


def plan_of(row: RewardPlan) -> Plan:
    """The parsed plan of a stored version (parsed once per version)."""
    return _cached_plan(row.tenant_id, row.version, row.id, row.created_at, lambda: row.document)


_plans_table = RewardPlan.__table__
_PLAN_IDENTITY = select(_plans_table.c.id, _plans_table.c.version, _plans_table.c.created_at).where(
    _plans_table.c.tenant_id == bindparam("tenant_id"))
_ACTIVE_PLAN_IDENTITY = _PLAN_IDENTITY.where(_plans_table.c.status == PlanStatus.ACTIVE)
_VERSION_IDENTITY = _PLAN_IDENTITY.where(_plans_table.c.version == bindparam("version"))


def _stored_plan(*, tenant_id: int, version: int | None) -> Plan:
    """The active plan (or the version given) without reading its document again once
    this process has parsed it: NoActivePlan / PlanVersionNotFound."""
    db.session.flush()  # a plan activated earlier in this unit of work counts (ORM autoflush)
    row = db.session.execute(_ACTIVE_PLAN_IDENTITY if version is None else _VERSION_IDENTITY,
                             {"tenant_id": tenant_id, "version": version}).first()
    if row is None:
        raise NoActivePlan() if version is None else PlanVersionNotFound()
    return _cached_plan(tenant_id, row.version, row.id, row.created_at, lambda: db.session.scalar(
        select(RewardPlan.document).where(RewardPlan.id == row.id)))


def _lock_tenant(tenant_id: int) -> None:
    """Serialize plan changes of one tenant (version numbers, the single active plan)."""
    tenants.lock_tenant(tenant_id=tenant_id)


def save_plan_version(*, tenant_id: int, document: Any, actor: str) -> RewardPlan:
    """Validate a plan and store it as the tenant's next version, as a draft."""
    plan = parse_plan(document)
    _lock_tenant(tenant_id)
    last = db.session.scalar(select(func.max(RewardPlan.version)).where(RewardPlan.tenant_id == tenant_id))
    version = (last or 0) + 1
    row = RewardPlan(tenant_id=tenant_id, version=version, name=plan.name, document=plan_to_json(plan),
                     status=PlanStatus.DRAFT, created_by=actor)
    db.session.add(row)
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="reward_plan.save", target_type="reward_plan",
                 target_id=version, before=None, after={"version": version, "name": plan.name})
    return row


def get_plan_version(*, tenant_id: int, version: int) -> RewardPlan:
    """One stored version of the tenant's plan, or PlanVersionNotFound."""
    row = db.session.scalar(select(RewardPlan).where(RewardPlan.tenant_id == tenant_id,
                                                     RewardPlan.version == version))
    if row is None:
        raise PlanVersionNotFound()
    return row


def list_plan_versions(*, tenant_id: int, before_version: int | None = None,
                       limit: int = 50) -> list[RewardPlan]:
    """The tenant's plan versions, newest first, keyset-paged by version."""
    stmt = select(RewardPlan).where(RewardPlan.tenant_id == tenant_id)
    if before_version is not None:
        stmt = stmt.where(RewardPlan.version < before_version)
    return list(db.session.scalars(stmt.order_by(RewardPlan.version.desc()).limit(limit)))


def active_plan_row(*, tenant_id: int) -> RewardPlan:
    """The tenant's active plan version, or NoActivePlan."""
    row = db.session.scalar(select(RewardPlan).where(RewardPlan.tenant_id == tenant_id,
                                                     RewardPlan.status == PlanStatus.ACTIVE))
    if row is None:
        raise NoActivePlan()
    return row


def get_active_plan(*, tenant_id: int) -> Plan:
    """The tenant's active plan, parsed and stamped with its version."""
    return _stored_plan(tenant_id=tenant_id, version=None)


# The active plan kept per process for PLAN_TTL_SECONDS, for callers that only read its
# agent levels on a hot path (a restock's supplying upline): a plan activated through
# this process is seen at once (mapper events, backend/process_cache.py), one activated
# by another within that time. Rewards are always computed with get_active_plan.
PLAN_TTL_SECONDS = 2.0
_ACTIVE_PLAN: ProcessCache[Plan | None] = ProcessCache("active_plan", PLAN_TTL_SECONDS)
_ACTIVE_PLAN.forget_on_change(RewardPlan, lambda row: row.tenant_id)


def active_plan_kept(*, tenant_id: int) -> Plan:
    """get_active_plan as it was at most PLAN_TTL_SECONDS ago (NoActivePlan likewise)."""
    def load() -> Plan | None:
        try:
            return get_active_plan(tenant_id=tenant_id)
        except NoActivePlan:
            return None

    plan = _ACTIVE_PLAN.get(tenant_id, load)
    if plan is None:
        raise NoActivePlan()
    return plan


def agent_level_keys(*, tenant_id: int) -> frozenset[str] | None:
    """The agent level keys of the tenant's active plan, or None when it has none."""
    try:
        return frozenset(get_active_plan(tenant_id=tenant_id).level_by_key)
    except NoActivePlan:
        return None


def activate_plan(*, tenant_id: int, version: int, actor: str, now: datetime) -> RewardPlan:
    """Make one version the active plan; the previously active one is retired."""
    _lock_tenant(tenant_id)
    row = get_plan_version(tenant_id=tenant_id, version=version)
    previous = db.session.scalar(select(RewardPlan).where(RewardPlan.tenant_id == tenant_id,
                                                          RewardPlan.status == PlanStatus.ACTIVE))
    if previous is not None and previous.id != row.id:
        previous.status = PlanStatus.RETIRED
        db.session.flush()  # one active row at a time, even inside this transaction
    row.status = PlanStatus.ACTIVE
    row.activated_at = now
    record_audit(tenant_id=tenant_id, actor=actor, action="reward_plan.activate", target_type="reward_plan",
                 target_id=version, before={"active_version": previous.version if previous else None},
                 after={"active_version": version})
    return row


def plan_view(row: RewardPlan, *, with_document: bool = True) -> dict[str, Any]:
    """A stored plan version as the API shows it."""
    out: dict[str, Any] = {"version": row.version, "name": row.name, "status": row.status,
                           "created_by": row.created_by, "created_at": row.created_at.isoformat(),
                           "activated_at": row.activated_at.isoformat() if row.activated_at else None}
    if with_document:
        out["document"] = row.document
    return out


# ------------------------------------------------------------------ snapshots


def _is_active_promoter(member: MemberInfo) -> bool:
    return member.promoter_status == PromoterStatus.ACTIVE


def buyer_snapshot(member: MemberInfo) -> Buyer:
    """The buyer as the engine sees it."""
    return Buyer(member_id=member.id, is_promoter=_is_active_promoter(member), tier=member.promoter_tier,
                 agent_level=member.agent_level)


def chain_member(member: MemberInfo) -> ChainMember:
    return ChainMember(member_id=member.id, promoter_active=_is_active_promoter(member),
                       tier=member.promoter_tier, agent_level=member.agent_level)


def member_chain(*, tenant_id: int, member_id: int) -> tuple[Buyer, tuple[ChainMember, ...]]:
    """The buyer and its whole upline (nearest first) as they stand now: what the payment
    path snapshots at payment and passes to compute_and_record_payouts."""
    member = get_member(tenant_id=tenant_id, member_id=member_id)
    ids = members.upline_ids(member.path)
    rows = members.members_by_ids(tenant_id=tenant_id, member_ids=ids)
    return buyer_snapshot(member), tuple(chain_member(rows[i]) for i in ids if i in rows)


def _member_json(m: Buyer | ChainMember) -> dict[str, Any]:
    active = m.is_promoter if isinstance(m, Buyer) else m.promoter_active
    return {"id": m.member_id, "active": active, "tier": m.tier, "level": m.agent_level}


def _chain_from_json(items: Iterable[Mapping[str, Any]]) -> tuple[ChainMember, ...]:
    return tuple(ChainMember(member_id=i["id"], promoter_active=i["active"], tier=i["tier"],
                             agent_level=i["level"]) for i in items)


def _buyer_from_json(item: Mapping[str, Any]) -> Buyer:
    return Buyer(member_id=item["id"], is_promoter=item["active"], tier=item["tier"], agent_level=item["level"])


# ------------------------------------------------------------------ payouts for orders


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """A paid order as the payment path hands it over: ids are the orders domain's."""

    order_id: int
    buyer: Buyer
    lines: tuple[OrderLine, ...]  # order_line_id: int; paid_fen/cost_fen totals per line
    paid_at: datetime


def _payout_row(*, tenant_id: int, line: PayoutLine, source_type: str, source_key: str,
                reward_line_id: int | None = None, order_id: int | None = None) -> Payout:
    return Payout(
        tenant_id=tenant_id, source_type=source_type, source_key=source_key, reward_line_id=reward_line_id,
        order_id=order_id, order_line_id=line.order_line_id, beneficiary_id=line.beneficiary_id,
        beneficiary_key=line.beneficiary_id or 0, kind=line.kind.value, base=line.base.value,
        base_fen=line.base_fen, rate=line.rate, nominal_fen=line.nominal_fen, amount_fen=line.amount_fen,
        withheld=line.withheld.value if line.withheld else None, level=line.level, agent_level=line.agent_level,
        position=line.position, plan_version=line.plan_version, explanation=line.explanation[:255])


@dataclass(frozen=True, slots=True)
class RecordedPayout:
    """A stored payout line (the columns of Payout), as compute_and_record_payouts
    returns it: plain values, no ORM object to build, track or read back."""

    id: int
    tenant_id: int
    source_type: str
    source_key: str
    reward_line_id: int | None
    order_id: int | None
    order_line_id: int | None
    beneficiary_id: int | None
    beneficiary_key: int
    kind: str
    base: str
    base_fen: int
    rate: Decimal | None
    nominal_fen: int
    amount_fen: int
    withheld: str | None
    level: int | None
    agent_level: str | None
    position: int | None
    plan_version: int
    explanation: str
    created_at: datetime


_lines_table = RewardLine.__table__
_payouts_table = Payout.__table__
_PAYOUT_COLUMNS = [_payouts_table.c[f.name] for f in fields(RecordedPayout)]
# One statement per table for all the lines of a batch (backend.bulk renders it).
# RETURNING gives the ids, and
# the two values the database may store differently from what was sent (the rate's
# scale, created_at's precision); rows are matched by their unique key, not position.
_REWARD_LINES_RETURN = (_lines_table.c.id, _lines_table.c.order_line_id)
_PAYOUTS_RETURN = (_payouts_table.c.id, _payouts_table.c.order_line_id, _payouts_table.c.beneficiary_key,
                   _payouts_table.c.kind, _payouts_table.c.rate, _payouts_table.c.created_at)


_LINES_RECORDED = select(_lines_table.c.order_line_id).where(
    _lines_table.c.tenant_id == bindparam("tenant_id"),
    _lines_table.c.order_line_id.in_(bindparam("ids", expanding=True))).with_for_update()


def _recorded_payouts(tenant_id: int, order_line_ids: Sequence[int]) -> list[RecordedPayout]:
    # A locking (shared) read sees lines a concurrent recorder committed after this
    # transaction's snapshot, like the reward line check before it.
    rows = db.session.execute(
        select(*_PAYOUT_COLUMNS).where(_payouts_table.c.tenant_id == tenant_id,
                                       _payouts_table.c.source_type == "order_line",
                                       _payouts_table.c.order_line_id.in_(list(order_line_ids)))
        .order_by(_payouts_table.c.id).with_for_update(read=True))
    return [RecordedPayout(*r) for r in rows]


def compute_and_record_payouts(*, tenant_id: int, order_snapshot: OrderSnapshot,
                               chain: Sequence[ChainMember], plan_version: int | None = None
                               ) -> list[RecordedPayout]:
    """Compute and persist every payout of a paid order's lines, with the active plan (or
    the version given); a line already recorded is returned as recorded, never twice.
    Returns the order's payout lines in id order.

    `chain` is the buyer's upline nearest first as it stood at payment (member_chain).
    Callers serialize per order (the payment path holds the order's row lock); the
    unique keys turn any race into an error, never a double payout.
    """
    return record_orders_payouts(tenant_id=tenant_id, orders=[(order_snapshot, chain)],
                                 plan_version=plan_version)[order_snapshot.order_id]


def record_orders_payouts(*, tenant_id: int, orders: Sequence[tuple[OrderSnapshot, Sequence[ChainMember]]],
                          plan_version: int | None = None) -> dict[int, list[RecordedPayout]]:
    """compute_and_record_payouts for several paid orders of one tenant at once (the
    paid-order follow-up's batch): the same rows, in one statement per table for all of
    them. Returns each order's payout lines in id order, by order id."""
    plan = _stored_plan(tenant_id=tenant_id, version=plan_version)
    line_ids = [line.order_line_id for snapshot, _ in orders for line in snapshot.lines]
    done = set(db.session.scalars(_LINES_RECORDED, {"tenant_id": tenant_id, "ids": line_ids})) if line_ids else set()
    out: dict[int, list[RecordedPayout]] = {snapshot.order_id: [] for snapshot, _ in orders}
    if done:
        for p in _recorded_payouts(tenant_id, sorted(done)):
            out[p.order_id].append(p)  # type: ignore[index]
    new = [(snapshot, chain, line, compute_payouts(plan, chain=chain, buyer=snapshot.buyer, line=line))
           for snapshot, chain in orders for line in snapshot.lines if line.order_line_id not in done]
    if not new:
        return out
    json_of: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = {
        snapshot.order_id: (_member_json(snapshot.buyer), [_member_json(m) for m in chain])
        for snapshot, chain in orders}
    reward_line_ids: dict[int, int] = {order_line_id: rid for rid, order_line_id in bulk.insert_rows(
        _lines_table, returning=_REWARD_LINES_RETURN, rows=[
            {"tenant_id": tenant_id, "order_id": snapshot.order_id, "order_line_id": line.order_line_id,
             "product_id": str(line.product_id), "sku_id": None if line.sku_id is None else str(line.sku_id),
             "quantity": line.quantity, "paid_fen": line.paid_fen, "cost_fen": line.cost_fen,
             "pool_fen": result.pool_fen, "buyer": json_of[snapshot.order_id][0],
             "chain": json_of[snapshot.order_id][1], "plan_version": plan.version, "paid_at": snapshot.paid_at}
            for snapshot, _, line, result in new])}
    rows = [{"tenant_id": tenant_id, "source_type": "order_line", "source_key": f"line:{line.order_line_id}",
             "reward_line_id": reward_line_ids[line.order_line_id], "order_id": snapshot.order_id,
             "order_line_id": line.order_line_id, "beneficiary_id": p.beneficiary_id,
             "beneficiary_key": p.beneficiary_id or 0, "kind": p.kind.value, "base": p.base.value,
             "base_fen": p.base_fen, "rate": p.rate, "nominal_fen": p.nominal_fen, "amount_fen": p.amount_fen,
             "withheld": p.withheld.value if p.withheld else None, "level": p.level,
             "agent_level": p.agent_level, "position": p.position, "plan_version": p.plan_version,
             "explanation": p.explanation[:255]}
            for snapshot, _, line, result in new for p in result.lines]
    if rows:
        stored = {(order_line_id, beneficiary_key, kind): (payout_id, rate, created_at)
                  for payout_id, order_line_id, beneficiary_key, kind, rate, created_at
                  in bulk.insert_rows(_payouts_table, rows, returning=_PAYOUTS_RETURN)}
        for row in rows:
            payout_id, rate, created_at = stored[(row["order_line_id"], row["beneficiary_key"], row["kind"])]
            out[row["order_id"]].append(RecordedPayout(id=payout_id, rate=rate, created_at=created_at, **{
                k: v for k, v in row.items() if k != "rate"}))
    for payouts in out.values():
        payouts.sort(key=_by_id)
    return out


def _by_id(p: RecordedPayout) -> int:
    return p.id


def list_payouts(*, tenant_id: int, member_id: int | None = None, order_id: int | None = None,
                 before_id: int | None = None, limit: int = 50) -> list[Payout]:
    """Payout lines of a tenant, newest first, optionally of one member or one order."""
    return newest_first(Payout, tenant_id=tenant_id, before_id=before_id, limit=limit,
                        where={Payout.beneficiary_id: member_id, Payout.order_id: order_id})


def payouts_of_lines(*, tenant_id: int, order_line_ids: Sequence[int]) -> list[Payout]:
    """The payout lines recorded for these order lines."""
    if not order_line_ids:
        return []
    return list(db.session.scalars(select(Payout).where(
        Payout.tenant_id == tenant_id, Payout.order_line_id.in_(list(order_line_ids))).order_by(Payout.id)))


def payouts_by_ids(*, payout_ids: Iterable[int]) -> dict[int, Payout]:
    """Payout rows by id (ids come from the caller's own tenant's ledger entries)."""
    wanted = sorted(set(payout_ids))
    if not wanted:
        return {}
    return {p.id: p for p in db.session.scalars(select(Payout).where(Payout.id.in_(wanted)))}


def payouts_after(*, after_id: int, source_types: Sequence[str], limit: int) -> list[Payout]:
    """Payouts of every tenant past an id, of these source types, in id order (finance's
    scan for recorded bonuses to credit)."""
    return list(db.session.scalars(
        select(Payout).where(Payout.id > after_id, Payout.source_type.in_(list(source_types)))
        .order_by(Payout.id).limit(limit)))


def payout_view(p: Payout | RecordedPayout) -> dict[str, Any]:
    """A payout line as the API shows it."""
    return {"id": p.id, "source_type": p.source_type, "source_key": p.source_key, "order_id": p.order_id,
            "order_line_id": p.order_line_id, "beneficiary_id": p.beneficiary_id, "kind": p.kind,
            "base": p.base, "base_fen": p.base_fen, "rate": None if p.rate is None else rate_text(p.rate),
            "nominal_fen": p.nominal_fen, "amount_fen": p.amount_fen, "amount": yuan(p.amount_fen),
            "withheld": p.withheld, "level": p.level, "agent_level": p.agent_level,
            "plan_version": p.plan_version, "explanation": p.explanation,
            "created_at": p.created_at.isoformat()}


# ------------------------------------------------------------------ simulator and replay


def simulate_case(*, tenant_id: int, case: Any, version: int | None = None) -> dict[str, Any]:
    """Run a simulator case (docs/plans.md) with its own plan, or else the given version,
    or else the tenant's active plan."""
    if isinstance(case, dict) and case.get("plan") is not None:
        if version is not None:
            raise InvalidCase([{"field": "version", "message": "用例已自带方案，不能再指定版本"}])
        return simulate_document(case)
    if not isinstance(case, dict):
        raise InvalidCase([{"field": "case", "message": "用例须为 JSON 对象"}])
    row = (get_plan_version(tenant_id=tenant_id, version=version) if version is not None
           else active_plan_row(tenant_id=tenant_id))
    return simulate_document(case, plan=plan_of(row))


def replay_plan(*, tenant_id: int, draft: Any, period_start: datetime, period_end: datetime,
                top: int = 100) -> dict[str, Any]:
    """Apply a draft plan (document or Plan) to the order lines paid in [start, end) and
    compare with what was recorded, per member and in total.

    Order-line rewards only (referral and team bonuses are not order lines). Members
    are listed by the size of their difference, largest first, at most `top` of them;
    the totals cover everyone.
    """
    plan = draft if isinstance(draft, Plan) else parse_plan(draft)
    in_period = (RewardLine.tenant_id == tenant_id, RewardLine.paid_at >= period_start,
                 RewardLine.paid_at < period_end)
    recorded: dict[int | None, int] = {}
    for member_id, amount in db.session.execute(
            select(Payout.beneficiary_id, func.sum(Payout.amount_fen))
            .join(RewardLine, RewardLine.id == Payout.reward_line_id).where(*in_period)
            .group_by(Payout.beneficiary_id)):
        recorded[member_id] = int(amount or 0)
    drafted: dict[int | None, int] = {}
    lines = 0
    stmt = select(RewardLine).where(*in_period).order_by(RewardLine.id).execution_options(yield_per=1000)
    for rl in db.session.scalars(stmt):
        lines += 1
        result = compute_payouts(
            plan, chain=_chain_from_json(rl.chain), buyer=_buyer_from_json(rl.buyer),
            line=OrderLine(order_line_id=rl.order_line_id, product_id=rl.product_id, sku_id=rl.sku_id,
                           quantity=rl.quantity, paid_fen=rl.paid_fen, cost_fen=rl.cost_fen))
        for p in result.lines:
            if p.amount_fen:
                drafted[p.beneficiary_id] = drafted.get(p.beneficiary_id, 0) + p.amount_fen
    merchant_recorded = recorded.pop(None, 0)
    merchant_draft = drafted.pop(None, 0)
    members: list[dict[str, Any]] = [{"member_id": m, "recorded_fen": recorded.get(m, 0), "draft_fen": drafted.get(m, 0),
                "difference_fen": drafted.get(m, 0) - recorded.get(m, 0)}
               for m in set(recorded) | set(drafted)]
    members.sort(key=lambda r: (-abs(r["difference_fen"]), r["member_id"]))
    recorded_total, draft_total = sum(recorded.values()), sum(drafted.values())
    return {
        "plan": {"name": plan.name},
        "period": {"start": period_start.isoformat(), "end": period_end.isoformat()},
        "order_lines": lines,
        "members": [m for m in members if m["difference_fen"] or m["recorded_fen"]][:top],
        "members_total": len(members),
        "total": {"recorded_fen": recorded_total, "draft_fen": draft_total,
                  "difference_fen": draft_total - recorded_total,
                  "merchant_recorded_fen": merchant_recorded, "merchant_draft_fen": merchant_draft},
    }


# ------------------------------------------------------------------ levels and upgrades


def referral_counts(*, tenant_id: int, member_ids: Sequence[int]) -> dict[int, MemberFacts]:
    """Facts holding the referral counts of each member (direct and indirect, by agent
    level and by tier of active promoters), read from the members table. Callers add
    sales and recharge facts with dataclasses.replace."""
    out = {mid: MemberFacts(member_id=mid) for mid in member_ids}
    if not member_ids:
        return out
    counts: dict[int, dict[str, Any]] = {
        mid: {"direct_referrals": 0, "indirect_referrals": 0, "direct_referrals_by_level": {},
              "indirect_referrals_by_level": {}, "direct_referrals_by_tier": {},
              "indirect_referrals_by_tier": {}} for mid in member_ids}
    for generation, prefix in ((1, "direct"), (2, "indirect")):
        for owner, level, status, tier, n in members.referral_groups(tenant_id=tenant_id, member_ids=member_ids,
                                                                      generation=generation):
            c = counts[owner]
            c[f"{prefix}_referrals"] += n
            if level is not None:
                by_level = c[f"{prefix}_referrals_by_level"]
                by_level[level] = by_level.get(level, 0) + n
            if status == PromoterStatus.ACTIVE:
                by_tier = c[f"{prefix}_referrals_by_tier"]
                by_tier[tier] = by_tier.get(tier, 0) + n
    for mid, c in counts.items():
        out[mid] = MemberFacts(member_id=mid, **c)
    return out


def _manually_set(tenant_id: int, member_ids: Sequence[int]) -> set[int]:
    """Members whose latest agent level change was made by hand (never lowered automatically)."""
    latest = (select(func.max(LevelChange.id))
              .where(LevelChange.tenant_id == tenant_id, LevelChange.field == "agent_level",
                     LevelChange.member_id.in_(member_ids))
              .group_by(LevelChange.member_id))
    return set(db.session.scalars(select(LevelChange.member_id).where(
        LevelChange.id.in_(latest), LevelChange.source.in_(("manual", "bought")))))


def _record_referrals(*, tenant_id: int, plan: Plan, member: MemberInfo, old_level: str | None,
                      new_level: str | None) -> list[Payout]:
    """Referral bonuses for the member's direct parent when its level rose; once per level."""
    if new_level is None or member.parent_id is None:
        return []
    parent = members.members_by_ids(tenant_id=tenant_id, member_ids=[member.parent_id]).get(member.parent_id)
    lines = referral_bonuses(plan, member_id=member.id, old_level=old_level, new_level=new_level,
                             parent=chain_member(parent) if parent is not None else None)
    rows = []
    for line in lines:
        key = line.reference or f"referral:{member.id}:{new_level}"
        exists = db.session.scalar(select(Payout.id).where(
            Payout.tenant_id == tenant_id, Payout.source_key == key,
            Payout.beneficiary_key == (line.beneficiary_id or 0), Payout.kind == line.kind.value))
        if exists is None:
            row = _payout_row(tenant_id=tenant_id, line=line, source_type="referral", source_key=key)
            db.session.add(row)
            rows.append(row)
    return rows


def _change_level(*, tenant_id: int, plan: Plan, member: MemberInfo, field: str, new_value: str | None,
                  source: str, actor: str) -> list[Payout]:
    old_value = getattr(member, field)
    if old_value == new_value:
        return []
    members.set_rank(tenant_id=tenant_id, member_id=member.id, field=field, value=new_value)
    db.session.add(LevelChange(tenant_id=tenant_id, member_id=member.id, field=field, old_value=old_value,
                               new_value=new_value, source=source, actor=actor, plan_version=plan.version))
    if field == "agent_level":
        announce("agent_level_changed", tenant_id=tenant_id, member_id=member.id, old_level=old_value,
                 new_level=new_value, actor=actor)
        return _record_referrals(tenant_id=tenant_id, plan=plan, member=member, old_level=old_value,
                                 new_level=new_value)
    return []


def apply_upgrades(*, tenant_id: int, facts: Sequence[MemberFacts], actor: str = "system") -> list[UpgradeDecision]:
    """Evaluate the active plan's upgrade rules for these members and apply every change
    (agent level, promoter tier), paying referral bonuses for rises. Only active
    promoters move. Returns the decisions that changed something."""
    plan_row = active_plan_row(tenant_id=tenant_id)
    plan = plan_of(plan_row)
    ids = sorted({f.member_id for f in facts})
    rows = members.members_by_ids(tenant_id=tenant_id, member_ids=ids, lock=True)
    locked = _manually_set(tenant_id, ids)
    changed: list[UpgradeDecision] = []
    for f in facts:
        member = rows.get(f.member_id)
        if member is None or not _is_active_promoter(member):
            continue
        tier = member.promoter_tier if member.promoter_tier in plan.tier_by_key else None
        current = replace(f, agent_level=member.agent_level, tier=tier,
                          level_locked=f.level_locked or member.id in locked)
        decision = decide_upgrade(plan, current)
        if not decision.changed:
            continue
        if decision.level_changed:
            _change_level(tenant_id=tenant_id, plan=plan, member=member, field="agent_level",
                          new_value=decision.level_to, source="auto", actor=actor)
        if decision.tier_changed and decision.tier_to is not None:
            _change_level(tenant_id=tenant_id, plan=plan, member=member, field="promoter_tier",
                          new_value=decision.tier_to, source="auto", actor=actor)
        changed.append(decision)
    db.session.flush()
    return changed


_UNSET: Any = object()


def set_member_level(*, tenant_id: int, member_id: int, actor: str, agent_level: str | None = _UNSET,
                     promoter_tier: str = _UNSET, reason: str | None = None) -> MemberInfo:
    """An operator sets a member's agent level (None clears it) and/or promoter tier by
    hand: checked against the active plan, audited with the reason given, locked against
    automatic lowering, and paying referral bonuses when the level rises."""
    plan = get_active_plan(tenant_id=tenant_id)
    if agent_level is not _UNSET and agent_level is not None and agent_level not in plan.level_by_key:
        raise UnknownLevel(details=[{"field": "agent_level", "message": f"方案中没有代理等级：{agent_level}"}])
    if promoter_tier is not _UNSET and promoter_tier not in plan.tier_by_key:
        raise UnknownLevel(details=[{"field": "promoter_tier", "message": f"方案中没有推广员等级：{promoter_tier}"}])
    member = members.lock_member(tenant_id=tenant_id, member_id=member_id)
    before = {"agent_level": member.agent_level, "promoter_tier": member.promoter_tier}
    if agent_level is not _UNSET:
        _change_level(tenant_id=tenant_id, plan=plan, member=member, field="agent_level",
                      new_value=agent_level, source="manual", actor=actor)
    if promoter_tier is not _UNSET:
        _change_level(tenant_id=tenant_id, plan=plan, member=member, field="promoter_tier",
                      new_value=promoter_tier, source="manual", actor=actor)
    record_audit(tenant_id=tenant_id, actor=actor, action="rewards.set_level", target_type="member",
                 target_id=member.id, before=before,
                 after={"agent_level": member.agent_level, "promoter_tier": member.promoter_tier,
                        **({"reason": reason} if reason else {})})
    db.session.flush()
    return member


def buy_level(*, tenant_id: int, member_id: int, level: str, order_id: int) -> bool:
    """A level package paid (等级礼包, 草根投资人): the buyer rises to `level`, once per
    order, never lowered by it; locked against automatic lowering like a manual level,
    with referral bonuses for the rise. False when nothing changed (already at or above,
    or the active plan no longer has that level)."""
    try:
        plan = get_active_plan(tenant_id=tenant_id)
    except NoActivePlan:
        return False
    if level not in plan.level_by_key:
        return False
    member = members.lock_member(tenant_id=tenant_id, member_id=member_id)
    reference = f"order:{order_id}"
    done = db.session.scalar(select(LevelChange.id).where(
        LevelChange.tenant_id == tenant_id, LevelChange.member_id == member_id, LevelChange.source == "bought",
        LevelChange.actor == reference).limit(1))
    order = plan.level_order
    current = order.index(member.agent_level) if member.agent_level in order else -1
    if done is not None or current >= order.index(level):
        return False
    before = member.agent_level
    _change_level(tenant_id=tenant_id, plan=plan, member=member, field="agent_level", new_value=level,
                  source="bought", actor=reference)
    record_audit(tenant_id=tenant_id, actor="system:level-package", action="rewards.buy_level",
                 target_type="member", target_id=member.id, before={"agent_level": before},
                 after={"agent_level": level, "order_id": order_id})
    db.session.flush()
    return True


def revoke_bought_level(*, tenant_id: int, member_id: int, order_id: int) -> bool:
    """The package's order was refunded: the member goes back to the level held before
    it, if buying it is still the member's latest level change (a later rise, by hand
    or by conditions, stands). Returns whether the level changed."""
    reference = f"order:{order_id}"
    bought = db.session.scalar(select(LevelChange).where(
        LevelChange.tenant_id == tenant_id, LevelChange.member_id == member_id, LevelChange.field == "agent_level",
        LevelChange.source == "bought", LevelChange.actor == reference).limit(1))
    if bought is None:
        return False
    member = members.members_by_ids(tenant_id=tenant_id, member_ids=[member_id], lock=True).get(member_id)
    latest = db.session.scalar(select(func.max(LevelChange.id)).where(
        LevelChange.tenant_id == tenant_id, LevelChange.member_id == member_id, LevelChange.field == "agent_level"))
    if member is None or latest != bought.id or member.agent_level != bought.new_value:
        return False
    plan = plan_of(active_plan_row(tenant_id=tenant_id))
    _change_level(tenant_id=tenant_id, plan=plan, member=member, field="agent_level", new_value=bought.old_value,
                  source="refund", actor=reference)
    record_audit(tenant_id=tenant_id, actor="system:level-package", action="rewards.revoke_bought_level",
                 target_type="member", target_id=member.id, before={"agent_level": bought.new_value},
                 after={"agent_level": bought.old_value, "order_id": order_id})
    db.session.flush()
    return True


def level_history(*, tenant_id: int, member_id: int, limit: int = 50) -> list[LevelChange]:
    """A member's level and tier changes, newest first."""
    get_member(tenant_id=tenant_id, member_id=member_id)  # MemberNotFound for another tenant's member
    return list(db.session.scalars(select(LevelChange).where(
        LevelChange.tenant_id == tenant_id, LevelChange.member_id == member_id)
        .order_by(LevelChange.id.desc()).limit(limit)))


def level_change_view(c: LevelChange) -> dict[str, Any]:
    """A level or tier change as the API shows it."""
    return {"field": c.field, "from": c.old_value, "to": c.new_value, "source": c.source, "actor": c.actor,
            "plan_version": c.plan_version, "at": c.created_at.isoformat()}


# ------------------------------------------------------------------ team performance


def team_period_recorded(*, tenant_id: int, period: str) -> bool:
    """Whether a period's team performance has been recorded (payouts or a marker)."""
    return db.session.scalar(select(Payout.id).where(
        Payout.tenant_id == tenant_id, Payout.source_key == f"team:{period}").limit(1)) is not None


def record_team_performance(*, tenant_id: int, period: str, teams: Sequence[AgentTeam]) -> list[Payout]:
    """Compute and persist one period's team performance bonuses with the active plan;
    a period already recorded is returned as recorded."""
    key = f"team:{period}"
    existing = list(db.session.scalars(select(Payout).where(
        Payout.tenant_id == tenant_id, Payout.source_key == key).order_by(Payout.id)))
    if existing:
        return existing
    plan = get_active_plan(tenant_id=tenant_id)
    rows = [_payout_row(tenant_id=tenant_id, line=line, source_type="team", source_key=key)
            for line in team_performance_bonuses(plan, period=period, teams=teams)]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def payout_totals(*, tenant_id: int, member_id: int) -> dict[str, int]:
    """What one member has been credited, per payout kind (fen)."""
    rows = db.session.execute(select(Payout.kind, func.sum(Payout.amount_fen)).where(
        Payout.tenant_id == tenant_id, Payout.beneficiary_id == member_id).group_by(Payout.kind))
    return {kind: int(total or 0) for kind, total in rows}


# ------------------------------------------------------------------ dashboard figures

def payout_totals_between(*, tenant_id: int, start: datetime, end: datetime) -> dict[str, int]:
    """Fen paid to members per payout kind for payouts written in [start, end) (the
    merchant's remainder left out)."""
    rows = db.session.execute(
        select(Payout.kind, func.sum(Payout.amount_fen)).where(
            Payout.tenant_id == tenant_id, Payout.created_at >= start, Payout.created_at < end,
            Payout.kind != PayoutKind.MERCHANT_REMAINDER.value).group_by(Payout.kind))
    return {kind: int(fen or 0) for kind, fen in rows}


def top_earners_between(*, tenant_id: int, start: datetime, end: datetime,
                        limit: int = 20) -> list[tuple[int, int]]:
    """(member id, fen) of the members paid most in [start, end)."""
    total = func.sum(Payout.amount_fen)
    rows = db.session.execute(
        select(Payout.beneficiary_id, total).where(
            Payout.tenant_id == tenant_id, Payout.created_at >= start, Payout.created_at < end,
            Payout.beneficiary_id.is_not(None), Payout.kind != PayoutKind.MERCHANT_REMAINDER.value)
        .group_by(Payout.beneficiary_id).order_by(total.desc()).limit(limit))
    return [(int(m), int(fen or 0)) for m, fen in rows if m is not None]

