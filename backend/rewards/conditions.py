"""Upgrade conditions (SPEC §4.4): AND/OR trees over a member's facts, evaluated purely.

A condition tree is written in a plan as JSON:

    {"all": [ ... ]}  every child holds        {"any": [ ... ]}  at least one holds
    {"fact": "direct_referrals", "min": 3, "min_level": "l2"}   a leaf: fact >= min

The caller (the service) gathers the facts; this module only compares. Nothing here
reads a clock, a database or Flask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from backend.rewards.plan import Plan


class FactKind(StrEnum):
    """The facts a condition leaf may test (SPEC §4.4)."""

    DIRECT_REFERRALS = "direct_referrals"  # members whose parent is this member
    INDIRECT_REFERRALS = "indirect_referrals"  # members whose grandparent is this member
    OWN_SALES = "own_sales_fen"  # this member's own paid purchases
    DIRECT_TEAM_SALES = "direct_team_sales_fen"  # purchases by direct referrals
    INDIRECT_TEAM_SALES = "indirect_team_sales_fen"  # purchases by indirect referrals
    TEAM_SALES = "team_sales_fen"  # own purchases + every descendant's, any depth
    CUMULATIVE_RECHARGE = "cumulative_recharge_fen"
    SINGLE_RECHARGE = "single_recharge_fen"  # the largest single recharge
    PRODUCT_PIECES = "product_pieces"  # pieces bought of one product


REFERRAL_FACTS = frozenset({FactKind.DIRECT_REFERRALS, FactKind.INDIRECT_REFERRALS})


@dataclass(frozen=True, slots=True)
class FactCondition:
    """A leaf: the fact is at least `min`."""

    fact: FactKind
    min: int
    min_level: str | None = None  # referral facts: count only referrals at this agent level or above
    min_tier: str | None = None  # referral facts: count only referrals at this promoter tier or above
    product_id: str | None = None  # product_pieces: which product


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


Condition = FactCondition | AllOf | AnyOf

_EMPTY: Mapping[str, int] = MappingProxyType({})


def _empty() -> Mapping[str, int]:
    return _EMPTY


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What is known about one member when its level and tier are (re)evaluated.

    Counts by level/tier hold only referrals that have that level/tier; the plain
    counts hold every referral. Amounts are fen; product keys are str(product_id).
    """

    member_id: Any
    agent_level: str | None = None
    tier: str | None = None
    level_locked: bool = False  # set by an operator or bought: never lowered automatically
    direct_referrals: int = 0
    indirect_referrals: int = 0
    direct_referrals_by_level: Mapping[str, int] = field(default_factory=_empty)
    indirect_referrals_by_level: Mapping[str, int] = field(default_factory=_empty)
    direct_referrals_by_tier: Mapping[str, int] = field(default_factory=_empty)
    indirect_referrals_by_tier: Mapping[str, int] = field(default_factory=_empty)
    own_sales_fen: int = 0
    direct_team_sales_fen: int = 0
    indirect_team_sales_fen: int = 0
    team_sales_fen: int = 0
    cumulative_recharge_fen: int = 0
    single_recharge_fen: int = 0
    product_pieces: Mapping[str, int] = field(default_factory=_empty)


# ---------------------------------------------------------------- parsing


_LEAF_KEYS = {"fact", "min", "min_level", "min_tier", "product_id"}


def parse_condition(raw: Any, path: str, errors: list[dict[str, str]], *,
                    level_keys: frozenset[str], tier_keys: frozenset[str]) -> Condition | None:
    """Parse one condition tree; append {"field", "message"} to errors for every defect."""

    def err(where: str, message: str) -> None:
        errors.append({"field": where, "message": message})

    if not isinstance(raw, dict):
        err(path, "条件须为对象：{\"all\": [...]}、{\"any\": [...]} 或 {\"fact\": ..., \"min\": ...}")
        return None
    for combinator, cls in (("all", AllOf), ("any", AnyOf)):
        if combinator in raw:
            extra = sorted(set(raw) - {combinator})
            if extra:
                err(f"{path}.{extra[0]}", f"未知字段：{extra[0]}")
            items = raw[combinator]
            if not isinstance(items, list) or not items:
                err(f"{path}.{combinator}", "须为非空数组")
                return None
            parsed = [parse_condition(item, f"{path}.{combinator}[{i}]", errors,
                                      level_keys=level_keys, tier_keys=tier_keys)
                      for i, item in enumerate(items)]
            if any(p is None for p in parsed):
                return None
            return cls(tuple(p for p in parsed if p is not None))
    if "fact" not in raw:
        err(path, "条件须包含 all、any 或 fact")
        return None
    ok = True
    for key in sorted(set(raw) - _LEAF_KEYS):
        err(f"{path}.{key}", f"未知字段：{key}")
        ok = False
    try:
        fact = FactKind(raw["fact"])
    except ValueError:
        err(f"{path}.fact", f"未知的条件类型：{raw['fact']!r}；可用：{'、'.join(k.value for k in FactKind)}")
        return None
    minimum = raw.get("min")
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 0:
        err(f"{path}.min", "须为不小于 0 的整数（金额以分计）")
        ok = False
    min_level = raw.get("min_level")
    min_tier = raw.get("min_tier")
    product_id = raw.get("product_id")
    if (min_level is not None or min_tier is not None) and fact not in REFERRAL_FACTS:
        err(f"{path}.{'min_level' if min_level is not None else 'min_tier'}",
            "只有 direct_referrals / indirect_referrals 可按等级筛选")
        ok = False
    if min_level is not None and min_tier is not None:
        err(f"{path}.min_tier", "min_level 与 min_tier 只能选一个")
        ok = False
    if min_level is not None and min_level not in level_keys:
        err(f"{path}.min_level", f"未知的代理等级：{min_level!r}")
        ok = False
    if min_tier is not None and min_tier not in tier_keys:
        err(f"{path}.min_tier", f"未知的推广员等级：{min_tier!r}")
        ok = False
    if fact is FactKind.PRODUCT_PIECES:
        if product_id is None or isinstance(product_id, bool) or not isinstance(product_id, (int, str)) \
                or product_id == "":
            err(f"{path}.product_id", "product_pieces 条件须指定 product_id")
            ok = False
    elif product_id is not None:
        err(f"{path}.product_id", "只有 product_pieces 条件可指定 product_id")
        ok = False
    if not ok or not isinstance(minimum, int):  # (an int when ok: checked above)
        return None
    return FactCondition(fact=fact, min=minimum, min_level=min_level, min_tier=min_tier,
                         product_id=None if product_id is None else str(product_id))


def condition_to_json(cond: Condition) -> dict[str, Any]:
    """The JSON form of a parsed condition (inverse of parse_condition)."""
    if isinstance(cond, AllOf):
        return {"all": [condition_to_json(c) for c in cond.items]}
    if isinstance(cond, AnyOf):
        return {"any": [condition_to_json(c) for c in cond.items]}
    out: dict[str, Any] = {"fact": cond.fact.value, "min": cond.min}
    if cond.min_level is not None:
        out["min_level"] = cond.min_level
    if cond.min_tier is not None:
        out["min_tier"] = cond.min_tier
    if cond.product_id is not None:
        out["product_id"] = cond.product_id
    return out


# ---------------------------------------------------------------- evaluation

Predicate = Callable[[MemberFacts], bool]


def _count_at_or_above(counts: Mapping[str, int], keys: tuple[str, ...]) -> int:
    return sum(counts.get(k, 0) for k in keys)


def compile_condition(cond: Condition, *, level_order: tuple[str, ...],
                      tier_order: tuple[str, ...]) -> Predicate:
    """Turn a tree into one closure; orders list keys from lowest to highest."""
    if isinstance(cond, AllOf):
        parts = tuple(compile_condition(c, level_order=level_order, tier_order=tier_order)
                      for c in cond.items)
        return lambda f: all(p(f) for p in parts)
    if isinstance(cond, AnyOf):
        parts = tuple(compile_condition(c, level_order=level_order, tier_order=tier_order)
                      for c in cond.items)
        return lambda f: any(p(f) for p in parts)
    minimum = cond.min
    fact = cond.fact
    if fact in REFERRAL_FACTS:
        direct = fact is FactKind.DIRECT_REFERRALS
        if cond.min_level is not None:
            keys = level_order[level_order.index(cond.min_level):]
            if direct:
                return lambda f: _count_at_or_above(f.direct_referrals_by_level, keys) >= minimum
            return lambda f: _count_at_or_above(f.indirect_referrals_by_level, keys) >= minimum
        if cond.min_tier is not None:
            keys = tier_order[tier_order.index(cond.min_tier):]
            if direct:
                return lambda f: _count_at_or_above(f.direct_referrals_by_tier, keys) >= minimum
            return lambda f: _count_at_or_above(f.indirect_referrals_by_tier, keys) >= minimum
        if direct:
            return lambda f: f.direct_referrals >= minimum
        return lambda f: f.indirect_referrals >= minimum
    if fact is FactKind.PRODUCT_PIECES:
        product = cond.product_id
        return lambda f: f.product_pieces.get(product, 0) >= minimum  # type: ignore[arg-type]
    attr = fact.value  # the remaining facts are plain attributes of MemberFacts
    getter = _ATTR_GETTERS[attr]
    return lambda f: getter(f) >= minimum


_ATTR_GETTERS: dict[str, Callable[[MemberFacts], int]] = {
    FactKind.OWN_SALES.value: lambda f: f.own_sales_fen,
    FactKind.DIRECT_TEAM_SALES.value: lambda f: f.direct_team_sales_fen,
    FactKind.INDIRECT_TEAM_SALES.value: lambda f: f.indirect_team_sales_fen,
    FactKind.TEAM_SALES.value: lambda f: f.team_sales_fen,
    FactKind.CUMULATIVE_RECHARGE.value: lambda f: f.cumulative_recharge_fen,
    FactKind.SINGLE_RECHARGE.value: lambda f: f.single_recharge_fen,
}


def holds(cond: Condition, facts: MemberFacts, *, level_order: tuple[str, ...] = (),
          tier_order: tuple[str, ...] = ()) -> bool:
    """Whether a condition tree holds for these facts (uncompiled convenience form)."""
    return compile_condition(cond, level_order=level_order, tier_order=tier_order)(facts)


@dataclass(frozen=True, slots=True)
class UpgradeDecision:
    """Where one member's agent level and promoter tier should be after evaluation."""

    member_id: Any
    level_from: str | None
    level_to: str | None
    tier_from: str | None
    tier_to: str | None

    @property
    def level_changed(self) -> bool:
        return self.level_from != self.level_to

    @property
    def tier_changed(self) -> bool:
        return self.tier_from != self.tier_to

    @property
    def changed(self) -> bool:
        return self.level_changed or self.tier_changed


def _rank(order: tuple[str, ...], key: str | None) -> int:
    """1-based rank of a key in a lowest-first order; 0 for none or unknown."""
    if key is None:
        return 0
    try:
        return order.index(key) + 1
    except ValueError:
        return 0


def target_level(plan: Plan, facts: MemberFacts) -> str | None:
    """The agent level the member should hold: the highest whose conditions hold.

    Levels without conditions are never reached automatically (manual or bought).
    The current level is kept unless the plan allows going down and it is not locked.
    """
    agents = plan.agents
    met: str | None = None
    for level in reversed(agents.levels):
        predicate = plan.level_predicates.get(level.key)
        if predicate is not None and predicate(facts):
            met = level.key
            break
    order = plan.level_order
    current = facts.agent_level if _rank(order, facts.agent_level) else None
    if _rank(order, met) >= _rank(order, current):
        return met
    if agents.allow_downgrade and not facts.level_locked:
        return met
    return current


def target_tier(plan: Plan, facts: MemberFacts) -> str:
    """The promoter tier the member should hold: the highest whose conditions hold.

    The default tier needs no condition. The current tier is kept unless the plan
    allows going down.
    """
    dist = plan.distribution
    met = dist.default_tier
    for tier in reversed(dist.tiers):
        predicate = plan.tier_predicates.get(tier.key)
        if predicate is not None and predicate(facts):
            met = tier.key
            break
    order = plan.tier_order
    current = facts.tier if facts.tier is not None and _rank(order, facts.tier) else dist.default_tier
    if _rank(order, met) >= _rank(order, current):
        return met
    if dist.allow_downgrade and not facts.level_locked:
        return met
    return current


def decide_upgrade(plan: Plan, facts: MemberFacts) -> UpgradeDecision:
    """Evaluate one member's level and tier against the plan's upgrade rules."""
    level_to = target_level(plan, facts) if plan.agents.enabled else facts.agent_level
    tier_to = target_tier(plan, facts) if plan.distribution.enabled else facts.tier
    if facts.tier is None and tier_to == plan.distribution.default_tier:
        tier_to = None  # an untiered promoter already counts as the default tier
    return UpgradeDecision(member_id=facts.member_id, level_from=facts.agent_level, level_to=level_to,
                           tier_from=facts.tier, tier_to=tier_to)
