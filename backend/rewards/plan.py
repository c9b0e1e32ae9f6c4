"""Reward plans as data: the JSON format, its validation, and frozen dataclasses.

The format is documented in docs/plans.md. `parse_plan(document)` returns a `Plan`
or raises `InvalidPlan` whose details list every defect as {"field", "message"},
with the field written as a path (`agents.levels[1].rate`). `plan_to_json(plan)`
gives the canonical document back (rates as percentages).

Pure: no Flask, SQLAlchemy, Redis or clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from backend.money import as_rate, percent, rate_text
from backend.rewards.conditions import (
    Condition,
    Predicate,
    compile_condition,
    condition_to_json,
    parse_condition,
)
from backend.rewards.errors import InvalidPlan

MAX_DEPTH = 3
RATE_DECIMALS = 8  # what a stored payout's rate column keeps exactly
_ZERO = Decimal(0)
_ONE = Decimal(1)


class Base(StrEnum):
    """What a rate is applied to (SPEC §4.2)."""

    PROFIT = "profit"  # paid − cost of the order line, never below zero
    PAID = "paid"  # what the buyer actually paid for the line, after discounts


class AgentMode(StrEnum):
    FIXED = "fixed"  # 固定分红: an eligible agent earns its own level's rate
    DIFFERENCE = "difference"  # 级差: its own rate minus the highest rate met below


class PaidTo(StrEnum):
    HIGHEST = "highest"  # team performance bonus only to agents of the highest level
    EVERY = "every"  # to every agent, less what agents below already earned


def product_key(value: Any) -> str:
    """Products and SKUs are matched by their text form, so 7 and "7" are one product."""
    return str(value)


@dataclass(frozen=True, slots=True)
class Tier:
    """A promoter tier (普通/铜牌/银牌/金牌…) and its rate per distribution level."""

    key: str
    name: str
    rates: tuple[Decimal, ...]  # index 0 = first level (nearest promoter)
    upgrade: Condition | None = None


@dataclass(frozen=True, slots=True)
class ProductOverride:
    """A product (or one SKU of it) with its own distribution rule."""

    product_id: str
    sku_id: str | None = None
    rates: tuple[Decimal, ...] | None = None  # replaces every tier's rates
    fixed_fen: tuple[int, ...] | None = None  # per piece, per level
    opt_out: bool = False


@dataclass(frozen=True, slots=True)
class ProductRef:
    product_id: str
    sku_id: str | None = None


@dataclass(frozen=True, slots=True)
class Distribution:
    """Three-level distribution (SPEC §3)."""

    enabled: bool = False
    depth: int = 3
    base: Base = Base.PROFIT
    self_purchase: bool = False  # an active promoter buying counts as its own first level
    tiers: tuple[Tier, ...] = ()
    default_tier: str = ""
    allow_downgrade: bool = False
    overrides: tuple[ProductOverride, ...] = ()


@dataclass(frozen=True, slots=True)
class ReferralBonus:
    """One-off bonuses (fen) a level earns when a direct downline reaches an agent level."""

    lower_fen: int = 0  # the downline ends below this level
    peer_fen: int = 0  # … at this level
    over_fen: int = 0  # … above this level


@dataclass(frozen=True, slots=True)
class AgentLevel:
    key: str
    name: str
    rank: int  # 1 = lowest
    rate: Decimal
    peer_bonus_rate: Decimal = _ZERO
    over_level_bonus_rate: Decimal = _ZERO
    referral: ReferralBonus = ReferralBonus()
    upgrade: Condition | None = None


@dataclass(frozen=True, slots=True)
class PerformanceTier:
    min_sales_fen: int
    rate: Decimal


@dataclass(frozen=True, slots=True)
class TeamPerformance:
    paid_to: PaidTo
    tiers: tuple[PerformanceTier, ...]  # ascending by min_sales_fen


@dataclass(frozen=True, slots=True)
class Agents:
    """The agent levels of the 3+3 model (SPEC §4)."""

    enabled: bool = False
    mode: AgentMode = AgentMode.FIXED
    base: Base = Base.PROFIT
    self_purchase: bool = False
    allow_downgrade: bool = False
    levels: tuple[AgentLevel, ...] = ()  # lowest first
    team_performance: TeamPerformance | None = None
    opt_out_products: tuple[ProductRef, ...] = ()


@dataclass(frozen=True, slots=True)
class Cap:
    """Most paid out in total for one order line: base × rate, never above the paid amount."""

    base: Base = Base.PROFIT
    rate: Decimal = _ONE


@dataclass(frozen=True)
class Plan:
    name: str
    distribution: Distribution
    agents: Agents
    cap: Cap = Cap()
    version: int = 0  # 0 for a draft that was never saved
    # Derived lookups, built once so the engine does no searching per order line.
    tier_by_key: Mapping[str, Tier] = field(init=False, repr=False, compare=False)
    level_by_key: Mapping[str, AgentLevel] = field(init=False, repr=False, compare=False)
    level_order: tuple[str, ...] = field(init=False, repr=False, compare=False)
    tier_order: tuple[str, ...] = field(init=False, repr=False, compare=False)
    level_predicates: Mapping[str, Predicate] = field(init=False, repr=False, compare=False)
    tier_predicates: Mapping[str, Predicate] = field(init=False, repr=False, compare=False)
    overrides_by_product: Mapping[tuple[str, str | None], ProductOverride] = field(
        init=False, repr=False, compare=False)
    agent_opt_out: frozenset[tuple[str, str | None]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        dist, agents = self.distribution, self.agents
        level_order = tuple(level.key for level in agents.levels)
        tier_order = tuple(tier.key for tier in dist.tiers)
        derived: dict[str, Any] = {
            "tier_by_key": MappingProxyType({t.key: t for t in dist.tiers}),
            "level_by_key": MappingProxyType({lv.key: lv for lv in agents.levels}),
            "level_order": level_order,
            "tier_order": tier_order,
            "level_predicates": MappingProxyType({
                lv.key: compile_condition(lv.upgrade, level_order=level_order, tier_order=tier_order)
                for lv in agents.levels if lv.upgrade is not None}),
            "tier_predicates": MappingProxyType({
                t.key: compile_condition(t.upgrade, level_order=level_order, tier_order=tier_order)
                for t in dist.tiers if t.upgrade is not None}),
            "overrides_by_product": MappingProxyType(
                {(o.product_id, o.sku_id): o for o in dist.overrides}),
            "agent_opt_out": frozenset((r.product_id, r.sku_id) for r in agents.opt_out_products),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    def with_version(self, version: int) -> Plan:
        """The same plan stamped with a saved version number."""
        return Plan(name=self.name, distribution=self.distribution, agents=self.agents,
                    cap=self.cap, version=version)

    def override_for(self, product_id: Any, sku_id: Any) -> ProductOverride | None:
        """The SKU's override if any, else the product's, else None."""
        if not self.overrides_by_product:
            return None
        pid = product_key(product_id)
        if sku_id is not None:
            found = self.overrides_by_product.get((pid, product_key(sku_id)))
            if found is not None:
                return found
        return self.overrides_by_product.get((pid, None))

    def agents_opted_out(self, product_id: Any, sku_id: Any) -> bool:
        if not self.agent_opt_out:
            return False
        pid = product_key(product_id)
        return (pid, None) in self.agent_opt_out or (
            sku_id is not None and (pid, product_key(sku_id)) in self.agent_opt_out)

    @property
    def highest_level(self) -> AgentLevel | None:
        return self.agents.levels[-1] if self.agents.levels else None


# ---------------------------------------------------------------- parsing


class _Parser:
    """Walks a document, collecting every defect with its field path."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def err(self, path: str, message: str) -> None:
        self.errors.append({"field": path, "message": message})

    def obj(self, raw: Any, path: str, allowed: set[str]) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            self.err(path, "须为对象")
            return None
        for key in sorted(set(raw) - allowed, key=str):
            self.err(f"{path}.{key}" if path else str(key), f"未知字段：{key}")
        return raw

    def boolean(self, raw: dict[str, Any], key: str, path: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.err(path, "须为 true 或 false")
            return default
        return value

    def choice(self, raw: dict[str, Any], key: str, path: str, enum: type[StrEnum],
               default: StrEnum | None) -> Any:
        if key not in raw:
            if default is None:
                self.err(path, "必填")
            return default
        try:
            return enum(raw[key])
        except ValueError:
            self.err(path, f"须为 {' / '.join(e.value for e in enum)} 之一")
            return default

    def text(self, raw: dict[str, Any], key: str, path: str, default: str | None = None) -> str | None:
        value = raw.get(key, default)
        if value is None:
            self.err(path, "必填")
            return None
        if not isinstance(value, str) or not value.strip():
            self.err(path, "须为非空字符串")
            return None
        return value.strip()

    def fen(self, value: Any, path: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.err(path, "金额须为整数（单位：分）")
            return None
        if value < 0:
            self.err(path, "金额不得为负")
            return None
        return value

    def rate(self, value: Any, path: str, *, over_message: str | None = None) -> Decimal | None:
        """A rate written as "0.30", "30%" or an integer 0/1; within 0–100%."""
        if value is None:
            self.err(path, "必填")
            return None
        if isinstance(value, float):
            self.err(path, "比例须写成字符串，如 \"0.30\" 或 \"30%\"（不接受浮点数）")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            self.err(path, "比例须写成字符串，如 \"0.30\" 或 \"30%\"")
            return None
        try:
            if isinstance(value, str):
                text = value.strip()
                rate = percent(text[:-1].strip()) if text.endswith("%") else as_rate(text)
            else:
                rate = as_rate(value)
        except (ValueError, TypeError):
            self.err(path, f"无法识别的比例：{value!r}（示例：\"0.30\" 或 \"30%\"）")
            return None
        if rate < 0 or rate > 1:
            self.err(path, over_message if over_message and rate > 1 else "比例须在 0% 到 100% 之间")
            return None
        exponent = rate.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < -RATE_DECIMALS:
            self.err(path, f"比例精度过高：最多 {RATE_DECIMALS} 位小数（如 \"0.12345678\" 或 \"12.345678%\"）")
            return None
        return rate

    def product_id(self, raw: dict[str, Any], key: str, path: str, required: bool) -> str | None:
        value = raw.get(key)
        if value is None:
            if required:
                self.err(path, "必填")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
            self.err(path, "须为商品/规格编号（整数或字符串）")
            return None
        return product_key(value)


_ROOT_KEYS = {"name", "version", "description", "distribution", "agents", "cap"}
_DIST_KEYS = {"enabled", "depth", "base", "self_purchase", "tiers", "default_tier",
              "allow_downgrade", "overrides"}
_TIER_KEYS = {"key", "name", "rates", "upgrade"}
_OVERRIDE_KEYS = {"product_id", "sku_id", "rates", "fixed_fen", "opt_out"}
_AGENT_KEYS = {"enabled", "mode", "base", "self_purchase", "allow_downgrade", "levels",
               "team_performance", "opt_out_products"}
_LEVEL_KEYS = {"key", "name", "rate", "peer_bonus_rate", "over_level_bonus_rate",
               "referral_bonus_fen", "upgrade"}
_REFERRAL_KEYS = {"lower", "peer", "over"}
_TEAM_KEYS = {"paid_to", "tiers"}
_PERF_TIER_KEYS = {"min_sales_fen", "rate"}
_CAP_KEYS = {"base", "rate"}
_REF_KEYS = {"product_id", "sku_id"}


def _keys(p: _Parser, items: list[Any], path: str) -> list[str | None]:
    """Read every entry's key first, so conditions may refer to any level or tier."""
    keys: list[str | None] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        key = item.get("key") if isinstance(item, dict) else None
        if not isinstance(key, str) or not key.strip():
            keys.append(None)
            continue
        key = key.strip()
        if key in seen:
            p.err(f"{path}[{i}].key", f"重复的 key：{key}")
        seen.add(key)
        keys.append(key)
    return keys


def _rate_list(p: _Parser, raw: Any, path: str, depth: int) -> tuple[Decimal, ...] | None:
    if not isinstance(raw, list):
        p.err(path, f"须为 {depth} 个比例组成的数组（一级、二级、三级…）")
        return None
    if len(raw) != depth:
        p.err(path, f"须有 {depth} 项（与 depth 一致），实际 {len(raw)} 项")
        return None
    rates = [p.rate(v, f"{path}[{i}]") for i, v in enumerate(raw)]
    if any(r is None for r in rates):
        return None
    return tuple(r for r in rates if r is not None)


def _parse_distribution(p: _Parser, raw: Any, level_keys: frozenset[str],
                        tier_keys_out: list[str]) -> Distribution:
    path = "distribution"
    d = p.obj(raw, path, _DIST_KEYS)
    if d is None:
        return Distribution()
    enabled = p.boolean(d, "enabled", f"{path}.enabled", True)
    depth = d.get("depth", MAX_DEPTH)
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
        p.err(f"{path}.depth", "层级数须为 1 到 3 的整数")
        depth = MAX_DEPTH
    base = p.choice(d, "base", f"{path}.base", Base, Base.PROFIT)
    self_purchase = p.boolean(d, "self_purchase", f"{path}.self_purchase", False)
    allow_downgrade = p.boolean(d, "allow_downgrade", f"{path}.allow_downgrade", False)

    raw_tiers = d.get("tiers")
    tiers: list[Tier] = []
    if not isinstance(raw_tiers, list) or (enabled and not raw_tiers):
        p.err(f"{path}.tiers", "须为非空数组（至少一个推广员等级）")
        raw_tiers = []
    keys = _keys(p, raw_tiers, f"{path}.tiers")
    tier_keys_out.extend(k for k in keys if k)
    tier_key_set = frozenset(tier_keys_out)
    for i, item in enumerate(raw_tiers):
        tpath = f"{path}.tiers[{i}]"
        t = p.obj(item, tpath, _TIER_KEYS)
        if t is None:
            continue
        key = p.text(t, "key", f"{tpath}.key")
        name = p.text(t, "name", f"{tpath}.name", default=key or "")
        rates = _rate_list(p, t.get("rates"), f"{tpath}.rates", depth)
        upgrade = None
        if t.get("upgrade") is not None:
            upgrade = parse_condition(t["upgrade"], f"{tpath}.upgrade", p.errors,
                                      level_keys=level_keys, tier_keys=tier_key_set)
        if key and name and rates is not None:
            tiers.append(Tier(key=key, name=name, rates=rates, upgrade=upgrade))

    default_tier = d.get("default_tier", keys[0] if keys else None)
    if default_tier is not None and default_tier not in tier_key_set and raw_tiers:
        p.err(f"{path}.default_tier", f"未知的推广员等级：{default_tier!r}")
    if default_tier is not None and default_tier in tier_key_set:
        default_index = keys.index(default_tier)
        if default_index < len(raw_tiers) and isinstance(raw_tiers[default_index], dict) \
                and raw_tiers[default_index].get("upgrade") is not None:
            p.err(f"{path}.tiers[{default_index}].upgrade", "默认等级无需升级条件")

    overrides: list[ProductOverride] = []
    raw_overrides = d.get("overrides", [])
    if not isinstance(raw_overrides, list):
        p.err(f"{path}.overrides", "须为数组")
        raw_overrides = []
    seen: set[tuple[str, str | None]] = set()
    for i, item in enumerate(raw_overrides):
        opath = f"{path}.overrides[{i}]"
        o = p.obj(item, opath, _OVERRIDE_KEYS)
        if o is None:
            continue
        pid = p.product_id(o, "product_id", f"{opath}.product_id", required=True)
        sku = p.product_id(o, "sku_id", f"{opath}.sku_id", required=False)
        given = [k for k in ("rates", "fixed_fen", "opt_out") if k in o]
        if len(given) != 1:
            p.err(opath, "rates、fixed_fen、opt_out 须且只能选一个")
            continue
        rates_o: tuple[Decimal, ...] | None = None
        fixed: tuple[int, ...] | None = None
        opt_out = False
        if given[0] == "rates":
            rates_o = _rate_list(p, o["rates"], f"{opath}.rates", depth)
            if rates_o is None:
                continue
        elif given[0] == "fixed_fen":
            raw_fixed = o["fixed_fen"]
            if not isinstance(raw_fixed, list) or len(raw_fixed) != depth:
                p.err(f"{opath}.fixed_fen", f"须为 {depth} 个金额（分）组成的数组")
                continue
            amounts = [p.fen(v, f"{opath}.fixed_fen[{j}]") for j, v in enumerate(raw_fixed)]
            if any(a is None for a in amounts):
                continue
            fixed = tuple(a for a in amounts if a is not None)
        else:
            if o["opt_out"] is not True:
                p.err(f"{opath}.opt_out", "只能为 true（不参与分销）；要参与请删除此项")
                continue
            opt_out = True
        if pid is None:
            continue
        if (pid, sku) in seen:
            p.err(opath, f"重复的商品设置：{pid}{'/' + sku if sku else ''}")
            continue
        seen.add((pid, sku))
        overrides.append(ProductOverride(product_id=pid, sku_id=sku, rates=rates_o,
                                         fixed_fen=fixed, opt_out=opt_out))
    return Distribution(enabled=enabled, depth=depth, base=base, self_purchase=self_purchase,
                        tiers=tuple(tiers), default_tier=default_tier or "",
                        allow_downgrade=allow_downgrade, overrides=tuple(overrides))


def _parse_agents(p: _Parser, raw: Any, level_keys: list[str | None],
                  tier_keys: frozenset[str]) -> Agents:
    path = "agents"
    a = p.obj(raw, path, _AGENT_KEYS)
    if a is None:
        return Agents()
    enabled = p.boolean(a, "enabled", f"{path}.enabled", True)
    mode = p.choice(a, "mode", f"{path}.mode", AgentMode, AgentMode.FIXED)
    base = p.choice(a, "base", f"{path}.base", Base, Base.PROFIT)
    self_purchase = p.boolean(a, "self_purchase", f"{path}.self_purchase", False)
    allow_downgrade = p.boolean(a, "allow_downgrade", f"{path}.allow_downgrade", False)
    raw_value = a.get("levels")
    raw_levels = raw_value if isinstance(raw_value, list) else []
    if enabled and (raw_value is None or raw_value == []):
        p.err(f"{path}.levels", "须为非空数组（代理等级，从低到高排列）")
    level_key_set = frozenset(k for k in level_keys if k)
    levels: list[AgentLevel] = []
    previous: tuple[str, Decimal] | None = None
    for i, item in enumerate(raw_levels):
        lpath = f"{path}.levels[{i}]"
        lv = p.obj(item, lpath, _LEVEL_KEYS)
        if lv is None:
            continue
        key = p.text(lv, "key", f"{lpath}.key")
        name = p.text(lv, "name", f"{lpath}.name", default=key or "")
        rate = p.rate(lv.get("rate"), f"{lpath}.rate")
        if rate is not None and previous is not None and rate < previous[1]:
            p.err(f"{lpath}.rate",
                  f"代理等级须从低到高排列：比例不得低于前一等级（{previous[0]} {rate_text(previous[1])}）")
        if rate is not None:
            previous = (name or key or f"levels[{i - 1}]", rate)
        peer = p.rate(lv.get("peer_bonus_rate", "0"), f"{lpath}.peer_bonus_rate")
        over = p.rate(lv.get("over_level_bonus_rate", "0"), f"{lpath}.over_level_bonus_rate")
        referral = ReferralBonus()
        raw_ref = lv.get("referral_bonus_fen")
        if raw_ref is not None:
            r = p.obj(raw_ref, f"{lpath}.referral_bonus_fen", _REFERRAL_KEYS)
            if r is not None:
                amounts = {k: p.fen(r.get(k, 0), f"{lpath}.referral_bonus_fen.{k}") for k in _REFERRAL_KEYS}
                referral = ReferralBonus(lower_fen=amounts["lower"] or 0, peer_fen=amounts["peer"] or 0,
                                         over_fen=amounts["over"] or 0)
        upgrade = None
        if lv.get("upgrade") is not None:
            upgrade = parse_condition(lv["upgrade"], f"{lpath}.upgrade", p.errors,
                                      level_keys=level_key_set, tier_keys=tier_keys)
        if key and name and rate is not None and peer is not None and over is not None:
            levels.append(AgentLevel(key=key, name=name, rank=i + 1, rate=rate, peer_bonus_rate=peer,
                                     over_level_bonus_rate=over, referral=referral, upgrade=upgrade))

    team: TeamPerformance | None = None
    if a.get("team_performance") is not None:
        tpath = f"{path}.team_performance"
        t = p.obj(a["team_performance"], tpath, _TEAM_KEYS)
        if t is not None:
            paid_to = p.choice(t, "paid_to", f"{tpath}.paid_to", PaidTo, None)
            raw_tiers = t.get("tiers")
            perf: list[PerformanceTier] = []
            if not isinstance(raw_tiers, list) or not raw_tiers:
                p.err(f"{tpath}.tiers", "须为非空数组（按业绩从低到高）")
                raw_tiers = []
            last_min: int | None = None
            for i, item in enumerate(raw_tiers):
                ppath = f"{tpath}.tiers[{i}]"
                pt = p.obj(item, ppath, _PERF_TIER_KEYS)
                if pt is None:
                    continue
                minimum = p.fen(pt.get("min_sales_fen"), f"{ppath}.min_sales_fen")
                rate = p.rate(pt.get("rate"), f"{ppath}.rate")
                if minimum is not None and last_min is not None and minimum <= last_min:
                    p.err(f"{ppath}.min_sales_fen", "业绩档位须按 min_sales_fen 严格递增排列")
                if minimum is not None:
                    last_min = minimum
                if minimum is not None and rate is not None:
                    perf.append(PerformanceTier(min_sales_fen=minimum, rate=rate))
            if paid_to is not None:
                team = TeamPerformance(paid_to=paid_to, tiers=tuple(perf))

    refs: list[ProductRef] = []
    raw_refs = a.get("opt_out_products", [])
    if not isinstance(raw_refs, list):
        p.err(f"{path}.opt_out_products", "须为数组")
        raw_refs = []
    for i, item in enumerate(raw_refs):
        rpath = f"{path}.opt_out_products[{i}]"
        r = p.obj(item, rpath, _REF_KEYS)
        if r is None:
            continue
        pid = p.product_id(r, "product_id", f"{rpath}.product_id", required=True)
        sku = p.product_id(r, "sku_id", f"{rpath}.sku_id", required=False)
        if pid is not None:
            refs.append(ProductRef(product_id=pid, sku_id=sku))
    return Agents(enabled=enabled, mode=mode, base=base, self_purchase=self_purchase,
                  allow_downgrade=allow_downgrade, levels=tuple(levels), team_performance=team,
                  opt_out_products=tuple(refs))


def parse_plan(document: Any, *, version: int = 0) -> Plan:
    """Validate a plan document and build the Plan; raise InvalidPlan listing every defect."""
    p = _Parser()
    doc = p.obj(document, "", _ROOT_KEYS)
    if doc is None:
        raise InvalidPlan(p.errors)
    name = doc.get("name", "奖励方案")
    if not isinstance(name, str) or not name.strip():
        p.err("name", "须为非空字符串")
        name = "奖励方案"
    if "version" in doc and (isinstance(doc["version"], bool) or not isinstance(doc["version"], int)):
        p.err("version", "须为整数")

    raw_agents = doc.get("agents")
    raw_levels = raw_agents.get("levels") if isinstance(raw_agents, dict) else None
    if isinstance(raw_agents, dict) and "levels" in raw_agents and not isinstance(raw_levels, list):
        p.err("agents.levels", "须为数组（代理等级，从低到高排列）")
    level_keys = _keys(p, raw_levels if isinstance(raw_levels, list) else [], "agents.levels")
    level_key_set = frozenset(k for k in level_keys if k)

    tier_keys: list[str] = []
    distribution = Distribution()
    if doc.get("distribution") is not None:
        distribution = _parse_distribution(p, doc["distribution"], level_key_set, tier_keys)
    agents = Agents()
    if raw_agents is not None:
        agents = _parse_agents(p, raw_agents, level_keys, frozenset(tier_keys))
    if not distribution.enabled and not agents.enabled:
        p.err("", "方案须至少启用分销（distribution）或代理（agents）之一")

    cap = Cap()
    if doc.get("cap") is not None:
        c = p.obj(doc["cap"], "cap", _CAP_KEYS)
        if c is not None:
            base = p.choice(c, "base", "cap.base", Base, Base.PROFIT)
            over = ("封顶不得高于实付金额（最多 100%）" if base is Base.PAID
                    else "封顶比例不得超过利润的 100%")
            rate = p.rate(c.get("rate", "100%"), "cap.rate", over_message=over)
            if rate is not None and rate == 0:
                p.err("cap.rate", "封顶比例须大于 0%")
            elif rate is not None:
                cap = Cap(base=base, rate=rate)
    if p.errors:
        raise InvalidPlan(p.errors)
    return Plan(name=name.strip(), distribution=distribution, agents=agents, cap=cap,
                version=version)


def _rates_json(rates: tuple[Decimal, ...]) -> list[str]:
    return [rate_text(r) for r in rates]


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The canonical document of a plan; parse_plan(plan_to_json(p)) == p."""
    out: dict[str, Any] = {"name": plan.name}
    dist = plan.distribution
    if dist.tiers:
        d: dict[str, Any] = {
            "enabled": dist.enabled, "depth": dist.depth, "base": dist.base.value,
            "self_purchase": dist.self_purchase, "default_tier": dist.default_tier,
            "allow_downgrade": dist.allow_downgrade, "tiers": [],
        }
        for t in dist.tiers:
            tier: dict[str, Any] = {"key": t.key, "name": t.name, "rates": _rates_json(t.rates)}
            if t.upgrade is not None:
                tier["upgrade"] = condition_to_json(t.upgrade)
            d["tiers"].append(tier)
        overrides = []
        for o in dist.overrides:
            item: dict[str, Any] = {"product_id": o.product_id}
            if o.sku_id is not None:
                item["sku_id"] = o.sku_id
            if o.rates is not None:
                item["rates"] = _rates_json(o.rates)
            elif o.fixed_fen is not None:
                item["fixed_fen"] = list(o.fixed_fen)
            else:
                item["opt_out"] = True
            overrides.append(item)
        if overrides:
            d["overrides"] = overrides
        out["distribution"] = d
    agents = plan.agents
    if agents.levels:
        a: dict[str, Any] = {
            "enabled": agents.enabled, "mode": agents.mode.value, "base": agents.base.value,
            "self_purchase": agents.self_purchase, "allow_downgrade": agents.allow_downgrade,
            "levels": [],
        }
        for lv in agents.levels:
            level: dict[str, Any] = {
                "key": lv.key, "name": lv.name, "rate": rate_text(lv.rate),
                "peer_bonus_rate": rate_text(lv.peer_bonus_rate),
                "over_level_bonus_rate": rate_text(lv.over_level_bonus_rate),
                "referral_bonus_fen": {"lower": lv.referral.lower_fen, "peer": lv.referral.peer_fen,
                                       "over": lv.referral.over_fen},
            }
            if lv.upgrade is not None:
                level["upgrade"] = condition_to_json(lv.upgrade)
            a["levels"].append(level)
        if agents.team_performance is not None:
            a["team_performance"] = {
                "paid_to": agents.team_performance.paid_to.value,
                "tiers": [{"min_sales_fen": t.min_sales_fen, "rate": rate_text(t.rate)}
                          for t in agents.team_performance.tiers],
            }
        if agents.opt_out_products:
            a["opt_out_products"] = [
                {"product_id": r.product_id, **({"sku_id": r.sku_id} if r.sku_id is not None else {})}
                for r in agents.opt_out_products]
        out["agents"] = a
    out["cap"] = {"base": plan.cap.base.value, "rate": rate_text(plan.cap.rate)}
    return out
