"""Agent rewards (SPEC §4.1–4.3 per order line), 3+3 together, and the per-line cap."""

from __future__ import annotations

import copy
from typing import Any

from backend.rewards.engine import (
    Buyer,
    ChainMember,
    LinePayouts,
    OrderLine,
    PayoutKind,
    Withheld,
    compute_payouts,
)
from backend.rewards.plan import parse_plan
from tests.unit.rewards.plans import DECK_TIERS, agent_levels, agents_doc

FAN = Buyer("D")
LINE = OrderLine(order_line_id=1, product_id="wine", paid_fen=100000, cost_fen=70000)


def deck_chain() -> list[ChainMember]:
    """A (level 1) → B (level 2) → C (level 3) → fan D; nearest first."""
    return [ChainMember("C", agent_level="l3"), ChainMember("B", agent_level="l2"),
            ChainMember("A", agent_level="l1")]


def paid(result: LinePayouts) -> dict[Any, int]:
    return {p.beneficiary_id: p.amount_fen for p in result.lines if p.beneficiary_id is not None}


def kinds(result: LinePayouts) -> dict[Any, str]:
    return {p.beneficiary_id: p.kind.value for p in result.lines if p.beneficiary_id is not None}


def test_fixed_mode_on_profit_pays_a_30_b_21_c_15() -> None:
    plan = parse_plan(agents_doc(mode="fixed", base="profit"))
    result = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=LINE)
    assert paid(result) == {"C": 1500, "B": 2100, "A": 3000}
    assert result.merchant_fen == 30000 - 6600
    assert [p.explanation for p in result.lines[:3]] == [
        "代理分红（三级代理）：利润 300.00 × 5% = 15.00",
        "代理分红（二级代理）：利润 300.00 × 7% = 21.00",
        "代理分红（一级代理）：利润 300.00 × 10% = 30.00",
    ]


def test_level_difference_on_paid_amount_pays_a_30_b_20_c_50() -> None:
    plan = parse_plan(agents_doc(mode="difference", base="paid"))
    result = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=LINE)
    assert paid(result) == {"C": 5000, "B": 2000, "A": 3000}
    assert sum(paid(result).values()) == 10000  # the highest rate met, 10% of 1000.00
    assert [p.explanation for p in result.lines] == [
        "代理分红（三级代理）：实付 1000.00 × 5% = 50.00",
        "代理分红（二级代理，级差）：实付 1000.00 × (7% − 5%) = 20.00",
        "代理分红（一级代理，级差）：实付 1000.00 × (10% − 7%) = 30.00",
        "商家留存：利润 300.00 − 已发放 100.00 = 200.00",
    ]


def test_level_difference_on_profit_pays_a_9_b_6_c_15() -> None:
    plan = parse_plan(agents_doc(mode="difference", base="profit"))
    result = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=LINE)
    assert paid(result) == {"C": 1500, "B": 600, "A": 900}


def test_fixed_mode_on_paid_amount_pays_a_100_b_70_c_50() -> None:
    plan = parse_plan(agents_doc(mode="fixed", base="paid"))
    result = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=LINE)
    assert paid(result) == {"C": 5000, "B": 7000, "A": 10000}


def test_an_agent_at_or_below_a_level_already_met_earns_no_dividend() -> None:
    plan = parse_plan(agents_doc(mode="fixed", base="paid"))
    chain = [ChainMember("C", agent_level="l2"), ChainMember("B", agent_level="l3"),
             ChainMember("A", agent_level="l1")]
    result = compute_payouts(plan, chain=chain, buyer=FAN, line=LINE)
    assert paid(result) == {"C": 7000, "A": 10000}


def test_level_difference_subtracts_the_highest_rate_met_below_even_past_a_lower_agent() -> None:
    plan = parse_plan(agents_doc(mode="difference", base="paid"))
    chain = [ChainMember("C", agent_level="l2"), ChainMember("B", agent_level="l3"),
             ChainMember("A", agent_level="l1")]
    result = compute_payouts(plan, chain=chain, buyer=FAN, line=LINE)
    assert paid(result) == {"C": 7000, "A": 3000}


def test_promoters_without_a_level_between_agents_change_nothing() -> None:
    plan = parse_plan(agents_doc(mode="difference", base="paid"))
    chain = [ChainMember("x1"), ChainMember("C", agent_level="l3"), ChainMember("x2"),
             ChainMember("B", agent_level="l2"), ChainMember("x3"), ChainMember("A", agent_level="l1")]
    result = compute_payouts(plan, chain=chain, buyer=FAN, line=LINE)
    assert paid(result) == {"C": 5000, "B": 2000, "A": 3000}


def bonus_plan(mode: str = "fixed") -> Any:
    return parse_plan(agents_doc(mode=mode, base="paid", levels=[
        {"key": "l3", "name": "三级代理", "rate": "5%", "peer_bonus_rate": "0.5%", "over_level_bonus_rate": "0.2%"},
        {"key": "l2", "name": "二级代理", "rate": "7%", "peer_bonus_rate": "1%", "over_level_bonus_rate": "0.4%"},
        {"key": "l1", "name": "一级代理", "rate": "10%", "peer_bonus_rate": "2%", "over_level_bonus_rate": "0%"},
    ]))


def test_when_a_direct_downline_rises_to_the_same_level_the_upline_earns_a_peer_bonus() -> None:
    chain = [ChainMember("B", agent_level="l2"), ChainMember("A", agent_level="l2")]
    result = compute_payouts(bonus_plan(), chain=chain, buyer=FAN, line=LINE)
    assert paid(result) == {"B": 7000, "A": 1000}
    assert kinds(result) == {"B": "agent_dividend", "A": "peer_bonus"}
    assert result.for_member("A")[0].explanation == "平级销售奖（二级代理）：实付 1000.00 × 1% = 10.00"


def test_when_a_direct_downline_rises_above_the_upline_earns_an_over_level_bonus() -> None:
    chain = [ChainMember("B", agent_level="l1"), ChainMember("A", agent_level="l2")]
    result = compute_payouts(bonus_plan(), chain=chain, buyer=FAN, line=LINE)
    assert paid(result) == {"B": 10000, "A": 400}
    assert kinds(result) == {"B": "agent_dividend", "A": "over_level_bonus"}
    assert result.for_member("A")[0].explanation == "越级销售奖（二级代理）：实付 1000.00 × 0.4% = 4.00"


def test_peer_and_over_level_bonuses_apply_in_level_difference_mode_too() -> None:
    chain = [ChainMember("C", agent_level="l3"), ChainMember("B", agent_level="l2"),
             ChainMember("A", agent_level="l2")]
    result = compute_payouts(bonus_plan("difference"), chain=chain, buyer=FAN, line=LINE)
    assert paid(result) == {"C": 5000, "B": 2000, "A": 1000}
    assert kinds(result)["A"] == "peer_bonus"


def test_a_sales_bonus_needs_the_direct_downline_to_hold_the_level() -> None:
    chain = [ChainMember("B", agent_level="l2"), ChainMember("x"), ChainMember("A", agent_level="l2")]
    result = compute_payouts(bonus_plan(), chain=chain, buyer=FAN, line=LINE)
    assert paid(result) == {"B": 7000}


def test_a_chain_of_equal_agents_pays_each_its_peer_bonus() -> None:
    chain = [ChainMember("C", agent_level="l1"), ChainMember("B", agent_level="l1"),
             ChainMember("A", agent_level="l1")]
    result = compute_payouts(bonus_plan(), chain=chain, buyer=FAN, line=LINE)
    assert paid(result) == {"C": 10000, "B": 2000, "A": 2000}


def test_a_frozen_agent_earns_nothing_but_its_level_still_counts() -> None:
    plan = parse_plan(agents_doc(mode="difference", base="paid"))
    chain = [ChainMember("C", promoter_active=False, agent_level="l3"), ChainMember("B", agent_level="l2")]
    result = compute_payouts(plan, chain=chain, buyer=FAN, line=LINE)
    assert paid(result) == {"C": 0, "B": 2000}
    assert result.for_member("C")[0].withheld is Withheld.FROZEN


def test_a_buying_agent_without_self_purchase_earns_nothing_and_its_peer_upline_earns_a_peer_bonus() -> None:
    buyer = Buyer("B", is_promoter=True, agent_level="l2")
    result = compute_payouts(bonus_plan(), chain=[ChainMember("A", agent_level="l2")], buyer=buyer, line=LINE)
    assert paid(result) == {"A": 1000}


def test_a_buying_agent_with_self_purchase_earns_its_own_dividend() -> None:
    doc = agents_doc(mode="difference", base="paid", self_purchase=True)
    buyer = Buyer("C", is_promoter=True, agent_level="l3")
    chain = [ChainMember("B", agent_level="l2"), ChainMember("A", agent_level="l1")]
    result = compute_payouts(parse_plan(doc), chain=chain, buyer=buyer, line=LINE)
    assert paid(result) == {"C": 5000, "B": 2000, "A": 3000}
    assert result.lines[0].explanation == "代理分红（三级代理，自购）：实付 1000.00 × 5% = 50.00"


def test_an_opted_out_product_pays_no_agent_rewards() -> None:
    plan = parse_plan(agents_doc(opt_out_products=[{"product_id": "wine"}]))
    result = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=LINE)
    assert paid(result) == {}
    assert result.lines[0].explanation.endswith("（该商品不参与代理奖励）")


def three_plus_three(cap: dict[str, str] | None = None) -> Any:
    doc: dict[str, Any] = {
        "name": "3+3",
        "distribution": {"depth": 3, "base": "profit", "tiers": copy.deepcopy(DECK_TIERS)},
        "agents": {"mode": "fixed", "base": "profit", "levels": agent_levels()},
    }
    if cap:
        doc["cap"] = cap
    return parse_plan(doc)


def test_distribution_and_agent_rewards_are_paid_on_one_order_together() -> None:
    chain = [ChainMember("D", agent_level="l3"), ChainMember("C"), ChainMember("B", agent_level="l2"),
             ChainMember("A", agent_level="l1")]
    line = OrderLine(order_line_id=1, product_id="tea", paid_fen=15000, cost_fen=5000)
    result = compute_payouts(three_plus_three(), chain=chain, buyer=Buyer("e"), line=line)
    assert [(p.beneficiary_id, p.kind.value, p.amount_fen) for p in result.lines] == [
        ("D", "dist_l1", 3000), ("D", "agent_dividend", 500),
        ("C", "dist_l2", 2000),
        ("B", "dist_l3", 1000), ("B", "agent_dividend", 700),
        ("A", "agent_dividend", 1000),
        (None, "merchant_remainder", 1800),
    ]


def test_over_the_cap_the_nearest_are_paid_first_and_the_explanation_says_so() -> None:
    chain = [ChainMember("D", tier="gold", agent_level="l3"), ChainMember("C", tier="gold"),
             ChainMember("B", tier="gold", agent_level="l1")]
    line = OrderLine(order_line_id=1, product_id="tea", paid_fen=15000, cost_fen=5000)
    result = compute_payouts(three_plus_three(), chain=chain, buyer=Buyer("e"), line=line)
    assert [(p.beneficiary_id, p.kind.value, p.nominal_fen, p.amount_fen) for p in result.lines] == [
        ("D", "dist_l1", 5000, 5000), ("D", "agent_dividend", 500, 500),
        ("C", "dist_l2", 3000, 3000),
        ("B", "dist_l3", 2000, 1500), ("B", "agent_dividend", 1000, 0),
        (None, "merchant_remainder", 0, 0),
    ]
    assert result.paid_out_fen == result.pool_fen == 10000
    assert result.lines[3].withheld is Withheld.CAP
    assert result.lines[3].explanation == (
        "三级佣金（金牌）：利润 100.00 × 20% = 20.00；超出单笔封顶 100.00，按就近原则实发 15.00")
    assert result.lines[4].explanation == (
        "代理分红（一级代理）：利润 100.00 × 10% = 10.00；单笔封顶 100.00 已由更近的上级分完，本项不发放")
    assert result.lines[5].explanation == (
        "商家留存：利润 100.00 − 已发放 100.00 = 0.00（超出单笔封顶的部分未发放）")


def test_a_cap_rate_below_one_hundred_percent_shrinks_the_pool() -> None:
    plan = three_plus_three(cap={"base": "profit", "rate": "50%"})
    chain = [ChainMember("D"), ChainMember("C"), ChainMember("B")]
    line = OrderLine(order_line_id=1, product_id="tea", paid_fen=15000, cost_fen=5000)
    result = compute_payouts(plan, chain=chain, buyer=Buyer("e"), line=line)
    assert [p.amount_fen for p in result.lines] == [3000, 2000, 0, 0]
    assert result.lines[-1].explanation.startswith("商家留存：单笔封顶 50.00 − 已发放 50.00 = 0.00")


def test_a_cap_on_the_paid_amount_never_exceeds_it() -> None:
    plan = parse_plan(agents_doc(mode="fixed", base="paid", cap={"base": "paid", "rate": "100%"},
                                 levels=agent_levels("60%", "80%", "100%")))
    result = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=LINE)
    assert paid(result) == {"C": 60000, "B": 40000, "A": 0}
    assert result.pool_fen == LINE.paid_fen
    assert result.merchant_fen == 0


def test_the_merchant_line_always_closes_the_pool() -> None:
    result = compute_payouts(three_plus_three(), chain=deck_chain(), buyer=FAN, line=LINE)
    assert sum(p.amount_fen for p in result.lines) == result.pool_fen
    assert result.lines[-1].kind is PayoutKind.MERCHANT_REMAINDER and result.lines[-1].beneficiary_id is None
