"""The rewards engine: a plan + the upline chain as it stood at payment + an order line
→ payout lines, each explained in one Chinese sentence a promoter can read.

Pure: frozen dataclasses in, frozen dataclasses out; no Flask, SQLAlchemy, Redis or
clock. Amounts are integer fen; every rate meets an amount through
`backend.money.apply_rate`, which rounds down.

Accounting of one order line (see docs/plans.md):
- the pool is the cap: cap base (profit or paid) × cap rate, never above the paid amount;
- distribution lines (SPEC §3) and agent lines (SPEC §4) are computed from the plan;
- they are paid from the pool nearest first (buyer, parent, grandparent, …; at one
  member distribution before agent rewards) until the pool is spent;
- what the pool keeps is the merchant remainder line, so the lines of an order line
  always add up to the pool exactly, and every rounding fen stays with the merchant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from operator import itemgetter
from typing import Any, NamedTuple

from backend.money import apply_rate, rate_text, yuan
from backend.rewards.plan import AgentLevel, AgentMode, Base, PaidTo, Plan, Tier

_ZERO = Decimal(0)


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class ChainMember:
    """One member of the buyer's upline as it stood at payment."""

    member_id: Any
    promoter_active: bool = True  # False when frozen or revoked: keeps its place, earns nothing
    tier: str | None = None  # promoter tier key; None or unknown → the plan's default tier
    agent_level: str | None = None  # agent level key; None or unknown → not an agent


@dataclass(frozen=True, slots=True)
class Buyer:
    member_id: Any
    is_promoter: bool = False  # an active promoter (earns on own purchases only if the plan says so)
    tier: str | None = None
    agent_level: str | None = None


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of a paid order. Amounts are totals for the line, in fen."""

    order_line_id: Any
    product_id: Any
    sku_id: Any = None
    quantity: int = 1
    paid_fen: int = 0  # actually paid for the line, after coupons, points and discounts
    cost_fen: int = 0  # cost price × quantity

    @property
    def profit_fen(self) -> int:
        return max(self.paid_fen - self.cost_fen, 0)


# ---------------------------------------------------------------- outputs


class PayoutKind(StrEnum):
    DIST_L1 = "dist_l1"
    DIST_L2 = "dist_l2"
    DIST_L3 = "dist_l3"
    AGENT_DIVIDEND = "agent_dividend"
    PEER_BONUS = "peer_bonus"
    OVER_LEVEL_BONUS = "over_level_bonus"
    REFERRAL_LOWER = "referral_lower"
    REFERRAL_PEER = "referral_peer"
    REFERRAL_OVER = "referral_over"
    TEAM_PERFORMANCE = "team_performance"
    MERCHANT_REMAINDER = "merchant_remainder"


DIST_KINDS = (PayoutKind.DIST_L1, PayoutKind.DIST_L2, PayoutKind.DIST_L3)


class BaseKind(StrEnum):
    PROFIT = "profit"
    PAID = "paid"
    FIXED = "fixed"  # a fixed amount; base_fen is the amount, rate is None
    POOL = "pool"  # the merchant line: base_fen is the order line's pool (cap)
    TEAM_SALES = "team_sales"


class Withheld(StrEnum):
    """Why a line pays less than its rule gives."""

    CAP = "cap"
    FROZEN = "frozen"


class PayoutLine(NamedTuple):
    """One payout: immutable (a NamedTuple, which builds several times faster than a
    frozen dataclass; an order line over a deep chain produces a dozen of these)."""

    kind: PayoutKind
    beneficiary_id: Any | None  # None: the merchant
    amount_fen: int  # what is paid, after cap and freezing; never negative
    base: BaseKind
    base_fen: int
    rate: Decimal | None  # the rate applied to base_fen (None for fixed amounts)
    nominal_fen: int  # what the rule gives, before cap and freezing
    explanation: str
    plan_version: int
    order_line_id: Any | None = None
    reference: str | None = None  # for payouts not tied to an order line (referral, team)
    position: int | None = None  # 0 = the buyer, 1 = its parent, …
    level: int | None = None  # distribution level 1–3
    agent_level: str | None = None  # the beneficiary's agent level key
    withheld: Withheld | None = None


@dataclass(frozen=True, slots=True)
class LinePayouts:
    """Every payout of one order line; lines always sum to pool_fen."""

    order_line_id: Any
    plan_version: int
    paid_fen: int
    profit_fen: int
    pool_fen: int
    lines: tuple[PayoutLine, ...]

    @property
    def paid_out_fen(self) -> int:
        return sum(p.amount_fen for p in self.lines if p.kind is not PayoutKind.MERCHANT_REMAINDER)

    @property
    def merchant_fen(self) -> int:
        return sum(p.amount_fen for p in self.lines if p.kind is PayoutKind.MERCHANT_REMAINDER)

    def for_member(self, member_id: Any) -> tuple[PayoutLine, ...]:
        return tuple(p for p in self.lines if p.beneficiary_id == member_id)


# ---------------------------------------------------------------- order lines

_LEVEL_NAMES = ("一级", "二级", "三级")
_PCT: dict[Decimal, str] = {}


def _yuan(fen: int) -> str:
    """backend.money.yuan for the non-negative amounts of this module, without the sign work."""
    return f"{fen // 100}.{fen % 100:02d}"


def _pct(rate: Decimal) -> str:
    """rate_text, memoised: plans reuse a handful of rates on every order line."""
    text = _PCT.get(rate)
    if text is None:
        if len(_PCT) > 4096:
            _PCT.clear()
        text = _PCT[rate] = rate_text(rate)
    return text
_BASE_LABEL = {Base.PROFIT: "利润", Base.PAID: "实付"}
_BASE_KIND = {Base.PROFIT: BaseKind.PROFIT, Base.PAID: BaseKind.PAID}

# A candidate before the cap: position, kind, beneficiary, base kind, base fen, rate,
# nominal fen, active, label, formula, distribution level, agent level key.
_Candidate = tuple[int, PayoutKind, Any, BaseKind, int, Decimal | None, int, bool, str, str,
                   int | None, str | None]


def _distribution_candidates(plan: Plan, chain: Sequence[ChainMember], buyer: Buyer,
                             line: OrderLine, profit: int, out: list[_Candidate],
                             notes: list[str]) -> None:
    dist = plan.distribution
    override = plan.override_for(line.product_id, line.sku_id)
    if override is not None and override.opt_out:
        notes.append("该商品不参与分销佣金")
        return
    base_fen = profit if dist.base is Base.PROFIT else line.paid_fen
    base_kind = _BASE_KIND[dist.base]
    base_money = f"{_BASE_LABEL[dist.base]} {_yuan(base_fen)}"
    self_buy = dist.self_purchase and buyer.is_promoter
    depth = dist.depth
    tier_by_key = plan.tier_by_key
    default_tier: Tier = tier_by_key[dist.default_tier]
    show_tier = len(dist.tiers) > 1
    missing: list[str] = []
    for index in range(depth):
        if self_buy:
            position = index
            node: ChainMember | Buyer | None = buyer if index == 0 else (
                chain[index - 1] if index - 1 < len(chain) else None)
        else:
            position = index + 1
            node = chain[index] if index < len(chain) else None
        name = _LEVEL_NAMES[index]
        if node is None:
            missing.append(name)
            continue
        active = node.is_promoter if isinstance(node, Buyer) else node.promoter_active
        tier = tier_by_key.get(node.tier, default_tier) if node.tier is not None else default_tier
        if override is not None and override.fixed_fen is not None:
            per_piece = override.fixed_fen[index]
            if per_piece == 0:
                continue
            nominal = per_piece * line.quantity
            out.append((position, DIST_KINDS[index], node.member_id, BaseKind.FIXED, nominal, None,
                        nominal, active, f"{name}佣金（商品固定）",
                        f"{yuan(per_piece)} × {line.quantity} 件", index + 1, node.agent_level))
            continue
        if override is not None and override.rates is not None:
            rate = override.rates[index]
            label = f"{name}佣金（商品专属比例）"
        else:
            rate = tier.rates[index]
            label = f"{name}佣金（{tier.name}）" if show_tier else f"{name}佣金"
        if rate == 0:
            continue
        out.append((position, DIST_KINDS[index], node.member_id, base_kind, base_fen, rate,
                    apply_rate(base_fen, rate), active, label,
                    f"{base_money} × {_pct(rate)}", index + 1, node.agent_level))
    if missing:
        notes.append(f"{'、'.join(missing)}佣金无上级推广员，归商家")


def _agent_candidates(plan: Plan, chain: Sequence[ChainMember], buyer: Buyer, line: OrderLine,
                      profit: int, out: list[_Candidate], notes: list[str]) -> None:
    agents = plan.agents
    if plan.agents_opted_out(line.product_id, line.sku_id):
        notes.append("该商品不参与代理奖励")
        return
    base_fen = profit if agents.base is Base.PROFIT else line.paid_fen
    base_kind = _BASE_KIND[agents.base]
    money = f"{_BASE_LABEL[agents.base]} {_yuan(base_fen)}"
    amounts: dict[Decimal, int] = {}  # rate → base × rate; bonuses repeat one rate up the chain

    def amount(rate: Decimal) -> int:
        value = amounts.get(rate)
        if value is None:
            value = amounts[rate] = apply_rate(base_fen, rate)
        return value

    difference = agents.mode is AgentMode.DIFFERENCE
    level_by_key = plan.level_by_key
    max_rank = 0  # the highest level met below the current member
    max_rate = _ZERO  # the highest dividend rate met below
    below_rank = 0  # the level of the member directly below the current one (0: none)

    buyer_level = level_by_key.get(buyer.agent_level) if buyer.agent_level is not None else None
    if buyer_level is not None:
        # The buyer's own level always counts as met below; it earns only on self-purchase.
        if agents.self_purchase and buyer.is_promoter and buyer_level.rate > 0:
            out.append((0, PayoutKind.AGENT_DIVIDEND, buyer.member_id, base_kind, base_fen,
                        buyer_level.rate, amount(buyer_level.rate), True,
                        f"代理分红（{buyer_level.name}，自购）", f"{money} × {_pct(buyer_level.rate)}",
                        None, buyer_level.key))
        max_rank = below_rank = buyer_level.rank
        max_rate = buyer_level.rate

    position = 0
    for node in chain:
        position += 1
        key = node.agent_level
        level: AgentLevel | None = level_by_key.get(key) if key is not None else None
        if level is None:
            below_rank = 0
            continue
        rank = level.rank
        if rank > max_rank:
            if difference and max_rank:
                rate = level.rate - max_rate
                label = f"代理分红（{level.name}，级差）"
                formula = f"{money} × ({_pct(level.rate)} − {_pct(max_rate)})"
            else:
                rate = level.rate
                label = f"代理分红（{level.name}）"
                formula = f"{money} × {_pct(rate)}"
            if rate > 0:
                out.append((position, PayoutKind.AGENT_DIVIDEND, node.member_id, base_kind, base_fen,
                            rate, amount(rate), node.promoter_active, label, formula,
                            None, key))
            max_rank = rank
            if level.rate > max_rate:
                max_rate = level.rate
        elif below_rank == rank:
            # Its direct downline holds the same level: a peer sales bonus instead of a dividend.
            rate = level.peer_bonus_rate
            if rate > 0:
                out.append((position, PayoutKind.PEER_BONUS, node.member_id, base_kind, base_fen,
                            rate, amount(rate), node.promoter_active,
                            f"平级销售奖（{level.name}）", f"{money} × {_pct(rate)}", None, key))
        elif below_rank > rank:
            # Its direct downline holds a higher level: an over-level sales bonus.
            rate = level.over_level_bonus_rate
            if rate > 0:
                out.append((position, PayoutKind.OVER_LEVEL_BONUS, node.member_id, base_kind, base_fen,
                            rate, amount(rate), node.promoter_active,
                            f"越级销售奖（{level.name}）", f"{money} × {_pct(rate)}", None, key))
        below_rank = rank


_position = itemgetter(0)


def compute_payouts(plan: Plan, *, chain: Sequence[ChainMember], buyer: Buyer,
                    line: OrderLine) -> LinePayouts:
    """Every payout of one paid order line, nearest first, ending with the merchant line.

    `chain` is the buyer's upline, nearest first (parent, grandparent, …), as it stood
    at payment.
    """
    if line.paid_fen < 0 or line.cost_fen < 0 or line.quantity < 1:
        raise ValueError("order line amounts must be non-negative and quantity at least 1")
    paid = line.paid_fen
    profit = line.profit_fen
    cap = plan.cap
    cap_base = profit if cap.base is Base.PROFIT else paid
    pool = min(apply_rate(cap_base, cap.rate), paid)

    dist_out: list[_Candidate] = []
    agent_out: list[_Candidate] = []
    notes: list[str] = []
    if plan.distribution.enabled:
        _distribution_candidates(plan, chain, buyer, line, profit, dist_out, notes)
    if plan.agents.enabled and plan.agents.levels:
        _agent_candidates(plan, chain, buyer, line, profit, agent_out, notes)
    if dist_out and agent_out:
        # Both lists are already nearest first; at one member distribution goes first.
        candidates = sorted(dist_out + agent_out, key=_position)
    else:
        candidates = dist_out or agent_out

    version = plan.version
    line_id = line.order_line_id
    remaining = pool
    frozen_fen = 0
    capped = False
    lines: list[PayoutLine] = []
    for (position, kind, member_id, base_kind, base_fen, rate, nominal, active, label, formula,
         level, agent_level) in candidates:
        text = f"{label}：{formula} = {_yuan(nominal)}"
        withheld = None
        if not active:
            amount = 0
            withheld = Withheld.FROZEN
            frozen_fen += nominal
            text += "；推广资格已冻结，不发放，归商家"
        elif nominal <= remaining:
            amount = nominal
            remaining -= nominal
        else:
            amount = remaining
            remaining = 0
            withheld = Withheld.CAP
            capped = True
            if amount:
                text += f"；超出单笔封顶 {yuan(pool)}，按就近原则实发 {yuan(amount)}"
            else:
                text += f"；单笔封顶 {yuan(pool)} 已由更近的上级分完，本项不发放"
        lines.append(PayoutLine(kind, member_id, amount, base_kind, base_fen, rate, nominal, text,
                                version, line_id, None, position, level, agent_level, withheld))

    if frozen_fen:
        notes.append(f"冻结推广员应得 {yuan(frozen_fen)} 归商家")
    if capped:
        notes.append("超出单笔封顶的部分未发放")
    if cap.rate == 1 and pool == cap_base:
        pool_text = f"{_BASE_LABEL[cap.base]} {yuan(pool)}"
    else:
        pool_text = f"单笔封顶 {yuan(pool)}"
    text = f"商家留存：{pool_text} − 已发放 {yuan(pool - remaining)} = {yuan(remaining)}"
    if notes:
        text += f"（{'；'.join(notes)}）"
    lines.append(PayoutLine(PayoutKind.MERCHANT_REMAINDER, None, remaining, BaseKind.POOL, pool, None,
                            remaining, text, version, line_id))
    return LinePayouts(order_line_id=line_id, plan_version=version, paid_fen=paid, profit_fen=profit,
                       pool_fen=pool, lines=tuple(lines))


# ---------------------------------------------------------------- referral bonuses


def referral_bonuses(plan: Plan, *, member_id: Any, old_level: str | None, new_level: str,
                     parent: ChainMember | None) -> tuple[PayoutLine, ...]:
    """The one-off bonus the direct upline earns when a member becomes or rises to a level.

    Compared with the member's new level, the parent's level decides the kind
    (SPEC §4.3): above → lower-level referral (it keeps dividends from this line),
    equal → peer referral, below → over-level referral (it loses dividends from this
    line and earns sales bonuses instead). A parent without an agent level earns none.
    """
    new = plan.level_by_key.get(new_level)
    if new is None or not plan.agents.enabled:
        return ()
    old = plan.level_by_key.get(old_level) if old_level is not None else None
    if old is not None and old.rank >= new.rank:
        return ()  # not a rise
    if parent is None or parent.agent_level is None:
        return ()
    mine = plan.level_by_key.get(parent.agent_level)
    if mine is None:
        return ()
    if mine.rank > new.rank:
        kind, amount = PayoutKind.REFERRAL_LOWER, mine.referral.lower_fen
        text = (f"下级推荐奖（{mine.name}）：直属下级成为{new.name}，奖励 {yuan(amount)}；"
                "您的等级更高，仍可获得该线代理分红")
    elif mine.rank == new.rank:
        kind, amount = PayoutKind.REFERRAL_PEER, mine.referral.peer_fen
        text = (f"平级推荐奖（{mine.name}）：直属下级成为{new.name}，与您平级，奖励 {yuan(amount)}；"
                "此后该线不再发代理分红，改发平级销售奖")
    else:
        kind, amount = PayoutKind.REFERRAL_OVER, mine.referral.over_fen
        text = (f"越级推荐奖（{mine.name}）：直属下级成为{new.name}，高于您的等级，奖励 {yuan(amount)}；"
                "此后该线不再发代理分红，改发越级销售奖")
    if amount == 0:
        return ()
    withheld = None
    paid = amount
    if not parent.promoter_active:
        paid = 0
        withheld = Withheld.FROZEN
        text += "；推广资格已冻结，不发放"
    return (PayoutLine(kind, parent.member_id, paid, BaseKind.FIXED, amount, None, amount, text,
                       plan.version, None, f"referral:{member_id}:{new.key}", None, None, mine.key,
                       withheld),)


# ---------------------------------------------------------------- team performance


@dataclass(frozen=True, slots=True)
class AgentTeam:
    """One agent's team sales for a period; upline_agent_id is the nearest agent above it."""

    member_id: Any
    agent_level: str | None
    team_sales_fen: int  # this agent's whole team's sales in the period, its own included
    upline_agent_id: Any | None = None
    promoter_active: bool = True


def team_performance_rate(plan: Plan, team_sales_fen: int) -> Decimal:
    """The rate of the highest sales tier the team reached, or 0."""
    tp = plan.agents.team_performance
    rate = _ZERO
    if tp is not None:
        for tier in tp.tiers:
            if team_sales_fen >= tier.min_sales_fen:
                rate = tier.rate
    return rate


def team_performance_bonuses(plan: Plan, *, period: str,
                             teams: Sequence[AgentTeam]) -> tuple[PayoutLine, ...]:
    """Team performance bonuses for one period (SPEC §4.3).

    Each eligible agent earns its team's sales × the tier rate, less what eligible
    agents inside its team already earned from the same sales. Eligible: every
    agent (paid_to "every") or only agents of the highest level (paid_to "highest").
    Lines are ordered bottom-up (deepest agents first).
    """
    tp = plan.agents.team_performance
    if tp is None or not plan.agents.enabled:
        return ()
    by_id = {t.member_id: t for t in teams}
    if len(by_id) != len(teams):
        raise ValueError("each agent may appear once per period")
    children: dict[Any, list[Any]] = {}
    roots: list[Any] = []
    for t in teams:
        if t.upline_agent_id is not None and t.upline_agent_id in by_id:
            children.setdefault(t.upline_agent_id, []).append(t.member_id)
        else:
            roots.append(t.member_id)
    order: list[Any] = []  # post-order: children before their upline
    stack: list[tuple[Any, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in reversed(children.get(node, ())))
    if len(order) != len(teams):
        raise ValueError("upline_agent_id forms a cycle")

    highest = plan.highest_level
    earned_below: dict[Any, int] = {}
    lines: list[PayoutLine] = []
    for member_id in order:
        team = by_id[member_id]
        below = sum(earned_below.get(c, 0) for c in children.get(member_id, ()))
        level = plan.level_by_key.get(team.agent_level) if team.agent_level is not None else None
        eligible = level is not None and (
            tp.paid_to is PaidTo.EVERY or (highest is not None and level.key == highest.key))
        if not eligible or level is None:
            earned_below[member_id] = below
            continue
        rate = team_performance_rate(plan, team.team_sales_fen)
        gross = apply_rate(team.team_sales_fen, rate)
        if gross == 0:
            earned_below[member_id] = below
            continue
        nominal = max(gross - below, 0)
        text = (f"团队业绩奖（{period}，{level.name}）：团队业绩 {yuan(team.team_sales_fen)} × "
                f"{rate_text(rate)} = {yuan(gross)}")
        if below:
            text += f" − 团队内下级代理已得 {yuan(below)} = {yuan(nominal)}"
        amount = nominal
        withheld = None
        if not team.promoter_active:
            amount = 0
            withheld = Withheld.FROZEN
            text += "；推广资格已冻结，不发放"
        earned_below[member_id] = below + amount
        lines.append(PayoutLine(PayoutKind.TEAM_PERFORMANCE, member_id, amount, BaseKind.TEAM_SALES,
                                team.team_sales_fen, rate, nominal, text, plan.version, None,
                                f"team:{period}", None, None, level.key, withheld))
    return tuple(lines)
