"""Properties of the engine over generated plans, chains and order lines (hypothesis)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.money import apply_rate
from backend.rewards.engine import (
    Buyer,
    ChainMember,
    LinePayouts,
    OrderLine,
    PayoutKind,
    Withheld,
    compute_payouts,
)
from backend.rewards.plan import Base, Plan, parse_plan

rates = st.integers(min_value=0, max_value=10000).map(lambda n: Decimal(n) / 10000)
positive_rates = st.integers(min_value=1, max_value=10000).map(lambda n: Decimal(n) / 10000)


def rate_doc(rate: Decimal) -> str:
    return f"{rate * 100}%"


@st.composite
def plans(draw: st.DrawFn, mode: str | None = None) -> Plan:
    depth = draw(st.integers(1, 3))
    n_tiers = draw(st.integers(1, 4))
    doc: dict[str, Any] = {"name": "generated"}
    with_dist = draw(st.booleans())
    with_agents = not with_dist or draw(st.booleans())
    if with_dist:
        doc["distribution"] = {
            "depth": depth, "base": draw(st.sampled_from(["profit", "paid"])),
            "self_purchase": draw(st.booleans()),
            "tiers": [{"key": f"t{i}", "name": f"等级{i}", "rates": [rate_doc(draw(rates)) for _ in range(depth)]}
                      for i in range(n_tiers)],
        }
    if with_agents:
        level_rates = sorted(draw(st.lists(rates, min_size=1, max_size=5)))
        doc["agents"] = {
            "mode": mode or draw(st.sampled_from(["fixed", "difference"])),
            "base": draw(st.sampled_from(["profit", "paid"])),
            "self_purchase": draw(st.booleans()),
            "levels": [{"key": f"l{i}", "name": f"代理{i}", "rate": rate_doc(r),
                        "peer_bonus_rate": rate_doc(draw(rates)),
                        "over_level_bonus_rate": rate_doc(draw(rates))}
                       for i, r in enumerate(level_rates)],
        }
    doc["cap"] = {"base": draw(st.sampled_from(["profit", "paid"])), "rate": rate_doc(draw(positive_rates))}
    return parse_plan(doc, version=draw(st.integers(1, 50)))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Plan, list[ChainMember], Buyer, OrderLine]:
    plan = draw(plans())
    tier_keys = [None, *plan.tier_by_key]
    level_keys = [None, *plan.level_by_key]
    chain = [ChainMember(member_id=i, promoter_active=draw(st.booleans()),
                         tier=draw(st.sampled_from(tier_keys)), agent_level=draw(st.sampled_from(level_keys)))
             for i in range(draw(st.integers(0, 30)))]
    buyer = Buyer("buyer", is_promoter=draw(st.booleans()), tier=draw(st.sampled_from(tier_keys)),
                  agent_level=draw(st.sampled_from(level_keys)))
    line = OrderLine(order_line_id=1, product_id="p", quantity=draw(st.integers(1, 10)),
                     paid_fen=draw(st.integers(0, 10**8)), cost_fen=draw(st.integers(0, 10**8)))
    return plan, chain, buyer, line


def run(case: tuple[Plan, list[ChainMember], Buyer, OrderLine]) -> LinePayouts:
    plan, chain, buyer, line = case
    return compute_payouts(plan, chain=chain, buyer=buyer, line=line)


def cap_of(plan: Plan, line: OrderLine) -> int:
    base = line.profit_fen if plan.cap.base is Base.PROFIT else line.paid_fen
    return min(apply_rate(base, plan.cap.rate), line.paid_fen)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_the_total_paid_out_never_exceeds_the_cap(case: Any) -> None:
    result = run(case)
    plan, _, _, line = case
    assert result.pool_fen == cap_of(plan, line)
    assert result.paid_out_fen <= result.pool_fen <= line.paid_fen


@settings(max_examples=300, deadline=None)
@given(cases())
def test_no_amount_is_ever_negative(case: Any) -> None:
    result = run(case)
    assert all(p.amount_fen >= 0 and p.nominal_fen >= 0 and p.base_fen >= 0 for p in result.lines)


@settings(max_examples=200, deadline=None)
@given(cases())
def test_the_same_inputs_give_the_same_lines(case: Any) -> None:
    assert run(case) == run(case)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_amounts_round_down_and_the_remainder_goes_to_the_merchant_line(case: Any) -> None:
    result = run(case)
    *payouts, merchant = result.lines
    assert merchant.kind is PayoutKind.MERCHANT_REMAINDER and merchant.beneficiary_id is None
    for p in payouts:
        if p.rate is not None:
            exact = Decimal(p.base_fen) * p.rate
            assert p.nominal_fen == exact.to_integral_value(rounding=ROUND_DOWN)
            assert p.nominal_fen <= exact < p.nominal_fen + 1
        if p.withheld is None:
            assert p.amount_fen == p.nominal_fen
        elif p.withheld is Withheld.FROZEN:
            assert p.amount_fen == 0
        else:
            assert p.amount_fen < p.nominal_fen
    assert merchant.amount_fen == result.pool_fen - sum(p.amount_fen for p in payouts)
    assert sum(p.amount_fen for p in result.lines) == result.pool_fen


@settings(max_examples=300, deadline=None)
@given(cases())
def test_the_cap_is_filled_nearest_first(case: Any) -> None:
    result = run(case)
    payouts = [p for p in result.lines if p.kind is not PayoutKind.MERCHANT_REMAINDER]
    positions = [p.position for p in payouts]
    assert positions == sorted(positions)  # type: ignore[type-var]
    capped = [i for i, p in enumerate(payouts) if p.withheld is Withheld.CAP]
    if capped:  # once the cap bites, nothing further up is paid and the pool is spent
        assert all(p.amount_fen == 0 for p in payouts[capped[0] + 1:])
        assert result.merchant_fen == 0


@st.composite
def rising_chains(draw: st.DrawFn) -> tuple[Plan, list[ChainMember], OrderLine]:
    """A level-difference plan and a chain whose agents' rates strictly rise going up."""
    n_levels = draw(st.integers(1, 8))
    level_rates = sorted(set(draw(st.lists(positive_rates, min_size=n_levels, max_size=n_levels))))
    plan = parse_plan({"name": "级差", "agents": {
        "mode": "difference", "base": draw(st.sampled_from(["profit", "paid"])),
        "levels": [{"key": f"l{i}", "name": f"代理{i}", "rate": rate_doc(r)} for i, r in enumerate(level_rates)],
    }, "cap": {"base": "paid", "rate": "100%"}})
    met = sorted(draw(st.sets(st.integers(0, len(level_rates) - 1), min_size=1)))
    chain: list[ChainMember] = []
    for index in met:  # nearest first, each agent higher than the last; promoters without levels between
        chain.extend(ChainMember(f"p{len(chain)}-{k}") for k in range(draw(st.integers(0, 2))))
        chain.append(ChainMember(f"a{index}", agent_level=f"l{index}"))
    line = OrderLine(order_line_id=1, product_id="p", paid_fen=draw(st.integers(0, 10**8)),
                     cost_fen=draw(st.integers(0, 10**8)))
    return plan, chain, line


@settings(max_examples=300, deadline=None)
@given(rising_chains())
def test_level_difference_over_strictly_rising_rates_sums_to_the_highest_rate_times_the_base(
        case: tuple[Plan, list[ChainMember], OrderLine]) -> None:
    plan, chain, line = case
    result = compute_payouts(plan, chain=chain, buyer=Buyer("fan"), line=line)
    dividends = [p for p in result.lines if p.kind is PayoutKind.AGENT_DIVIDEND]
    base = line.profit_fen if plan.agents.base is Base.PROFIT else line.paid_fen
    highest = plan.level_by_key[chain[-1].agent_level].rate  # type: ignore[index]
    assert sum(Decimal(p.base_fen) * p.rate for p in dividends) == Decimal(base) * highest  # type: ignore[operator]
    rounded_total = int((Decimal(base) * highest).to_integral_value(rounding=ROUND_DOWN))
    assert rounded_total - len(dividends) < sum(p.amount_fen for p in dividends) <= rounded_total
