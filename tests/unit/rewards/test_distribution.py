"""Three-level distribution (SPEC §3): the deck's worked examples with their numbers."""

from __future__ import annotations

import copy

import pytest

from backend.rewards.engine import (
    BaseKind,
    Buyer,
    ChainMember,
    OrderLine,
    PayoutKind,
    Withheld,
    compute_payouts,
)
from backend.rewards.plan import parse_plan
from tests.unit.rewards.plans import DECK_TIERS, distribution_doc

FAN = Buyer("e")


def deck_chain(**tiers: str) -> list[ChainMember]:
    """D, C, B, A: the buyer e's upline nearest first (A brought B, …, D brought e)."""
    return [ChainMember(m, tier=tiers.get(m)) for m in "DCBA"]


def line(paid_fen: int = 15000, cost_fen: int = 5000, **kw: object) -> OrderLine:
    return OrderLine(order_line_id=kw.pop("order_line_id", 1), product_id=kw.pop("product_id", "p1"),
                     paid_fen=paid_fen, cost_fen=cost_fen, **kw)  # type: ignore[arg-type]


def amounts(result: object) -> dict[object, int]:
    return {(p.beneficiary_id, p.kind.value): p.amount_fen for p in result.lines}  # type: ignore[attr-defined]


def test_deck_example_pays_d_30_c_20_b_10_and_nothing_to_a() -> None:
    plan = parse_plan(distribution_doc())
    result = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=line())
    assert amounts(result) == {("D", "dist_l1"): 3000, ("C", "dist_l2"): 2000, ("B", "dist_l3"): 1000,
                               (None, "merchant_remainder"): 4000}
    assert result.for_member("A") == ()
    assert [p.explanation for p in result.lines] == [
        "一级佣金：利润 100.00 × 30% = 30.00",
        "二级佣金：利润 100.00 × 20% = 20.00",
        "三级佣金：利润 100.00 × 10% = 10.00",
        "商家留存：利润 100.00 − 已发放 60.00 = 40.00",
    ]


def test_each_line_records_its_base_rate_and_plan_version() -> None:
    plan = parse_plan(distribution_doc(), version=4)
    first = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=line()).lines[0]
    assert (first.kind, first.base, first.base_fen, str(first.rate), first.plan_version, first.level) == (
        PayoutKind.DIST_L1, BaseKind.PROFIT, 10000, "0.3", 4, 1)


def test_a_chain_shorter_than_three_leaves_the_unpaid_levels_with_the_merchant() -> None:
    plan = parse_plan(distribution_doc())
    result = compute_payouts(plan, chain=[ChainMember("D")], buyer=FAN, line=line())
    assert amounts(result) == {("D", "dist_l1"): 3000, (None, "merchant_remainder"): 7000}
    assert result.lines[-1].explanation == (
        "商家留存：利润 100.00 − 已发放 30.00 = 70.00（二级、三级佣金无上级推广员，归商家）")


def test_a_fan_without_any_upline_pays_everything_to_the_merchant() -> None:
    plan = parse_plan(distribution_doc())
    result = compute_payouts(plan, chain=[], buyer=FAN, line=line())
    assert amounts(result) == {(None, "merchant_remainder"): 10000}


def test_a_frozen_promoter_keeps_its_place_but_its_share_stays_with_the_merchant() -> None:
    plan = parse_plan(distribution_doc())
    chain = [ChainMember("D"), ChainMember("C", promoter_active=False), ChainMember("B"), ChainMember("A")]
    result = compute_payouts(plan, chain=chain, buyer=FAN, line=line())
    assert amounts(result) == {("D", "dist_l1"): 3000, ("C", "dist_l2"): 0, ("B", "dist_l3"): 1000,
                               (None, "merchant_remainder"): 6000}
    frozen = result.for_member("C")[0]
    assert frozen.withheld is Withheld.FROZEN and frozen.nominal_fen == 2000
    assert frozen.explanation == "二级佣金：利润 100.00 × 20% = 20.00；推广资格已冻结，不发放，归商家"
    assert result.for_member("A") == ()  # B, not A, is still the third level


# The deck's tier table: the rate a promoter earns depends on its tier and the level it sits at.
TIER_TABLE = {
    "normal": (3000, 2000, 1000),
    "bronze": (2000, 1000, 500),
    "silver": (3000, 2000, 1000),
    "gold": (5000, 3000, 2000),
}


@pytest.mark.parametrize("tier", list(TIER_TABLE))
@pytest.mark.parametrize("level", [1, 2, 3])
def test_tier_table_rate_applies_by_tier_and_level(tier: str, level: int) -> None:
    plan = parse_plan(distribution_doc(tiers=copy.deepcopy(DECK_TIERS)))
    tiers = {"DCB"[level - 1]: tier}
    result = compute_payouts(plan, chain=deck_chain(**tiers), buyer=FAN, line=line())
    paid = {p.level: p.amount_fen for p in result.lines if p.level}
    assert paid[level] == TIER_TABLE[tier][level - 1]


def test_a_gold_first_level_bronze_second_and_silver_third_earn_50_10_10() -> None:
    plan = parse_plan(distribution_doc(tiers=copy.deepcopy(DECK_TIERS)))
    result = compute_payouts(plan, chain=deck_chain(D="gold", C="bronze", B="silver"), buyer=FAN, line=line())
    assert [p.amount_fen for p in result.lines] == [5000, 1000, 1000, 3000]
    assert result.lines[0].explanation == "一级佣金（金牌）：利润 100.00 × 50% = 50.00"


def test_a_promoter_without_a_known_tier_earns_the_default_tiers_rates() -> None:
    plan = parse_plan(distribution_doc(tiers=copy.deepcopy(DECK_TIERS), default_tier="bronze"))
    result = compute_payouts(plan, chain=deck_chain(D="retired-tier"), buyer=FAN, line=line())
    assert [p.amount_fen for p in result.lines[:3]] == [2000, 1000, 500]


def test_the_paid_amount_may_be_the_base() -> None:
    plan = parse_plan(distribution_doc(base="paid"))
    result = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=line())
    assert [p.amount_fen for p in result.lines] == [4500, 3000, 1500, 1000]
    assert result.lines[0].explanation == "一级佣金：实付 150.00 × 30% = 45.00"


def test_depth_two_pays_two_levels_only() -> None:
    plan = parse_plan(distribution_doc(depth=2, tiers=[{"key": "n", "name": "普通", "rates": ["30%", "20%"]}]))
    result = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=line())
    assert amounts(result) == {("D", "dist_l1"): 3000, ("C", "dist_l2"): 2000, (None, "merchant_remainder"): 5000}


def test_self_purchase_on_makes_the_buying_promoter_its_own_first_level() -> None:
    plan = parse_plan(distribution_doc(self_purchase=True))
    buyer = Buyer("D", is_promoter=True)
    result = compute_payouts(plan, chain=[ChainMember("C"), ChainMember("B"), ChainMember("A")],
                             buyer=buyer, line=line())
    assert amounts(result) == {("D", "dist_l1"): 3000, ("C", "dist_l2"): 2000, ("B", "dist_l3"): 1000,
                               (None, "merchant_remainder"): 4000}
    assert result.lines[0].position == 0


def test_self_purchase_off_starts_with_the_buyers_parent() -> None:
    plan = parse_plan(distribution_doc(self_purchase=False))
    result = compute_payouts(plan, chain=[ChainMember("C"), ChainMember("B"), ChainMember("A")],
                             buyer=Buyer("D", is_promoter=True), line=line())
    assert amounts(result) == {("C", "dist_l1"): 3000, ("B", "dist_l2"): 2000, ("A", "dist_l3"): 1000,
                               (None, "merchant_remainder"): 4000}


def test_self_purchase_does_not_apply_to_a_buyer_who_is_not_a_promoter() -> None:
    plan = parse_plan(distribution_doc(self_purchase=True))
    result = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=line())
    assert result.lines[0].beneficiary_id == "D"


def test_a_product_rate_override_replaces_every_tiers_rates() -> None:
    plan = parse_plan(distribution_doc(tiers=copy.deepcopy(DECK_TIERS),
                                       overrides=[{"product_id": 42, "rates": ["10%", "5%", "0%"]}]))
    result = compute_payouts(plan, chain=deck_chain(D="gold"), buyer=FAN, line=line(product_id=42))
    assert amounts(result) == {("D", "dist_l1"): 1000, ("C", "dist_l2"): 500, (None, "merchant_remainder"): 8500}
    assert result.lines[0].explanation == "一级佣金（商品专属比例）：利润 100.00 × 10% = 10.00"


def test_a_fixed_override_pays_per_piece() -> None:
    plan = parse_plan(distribution_doc(overrides=[{"product_id": "box", "fixed_fen": [500, 200, 100]}]))
    result = compute_payouts(plan, chain=deck_chain(), buyer=FAN,
                             line=line(product_id="box", quantity=3, paid_fen=30000, cost_fen=12000))
    assert amounts(result) == {("D", "dist_l1"): 1500, ("C", "dist_l2"): 600, ("B", "dist_l3"): 300,
                               (None, "merchant_remainder"): 18000 - 2400}
    assert result.lines[0].explanation == "一级佣金（商品固定）：5.00 × 3 件 = 15.00"
    assert result.lines[0].base is BaseKind.FIXED and result.lines[0].rate is None


def test_a_sku_override_beats_its_products_override() -> None:
    plan = parse_plan(distribution_doc(overrides=[
        {"product_id": 7, "rates": ["10%", "10%", "10%"]},
        {"product_id": 7, "sku_id": 71, "opt_out": True},
    ]))
    plain = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=line(product_id=7, sku_id=70))
    assert [p.amount_fen for p in plain.lines] == [1000, 1000, 1000, 7000]
    opted = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=line(product_id=7, sku_id=71))
    assert amounts(opted) == {(None, "merchant_remainder"): 10000}
    assert opted.lines[0].explanation == "商家留存：利润 100.00 − 已发放 0.00 = 100.00（该商品不参与分销佣金）"


def test_product_ids_match_whether_written_as_numbers_or_text() -> None:
    plan = parse_plan(distribution_doc(overrides=[{"product_id": "7", "opt_out": True}]))
    result = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=line(product_id=7))
    assert result.paid_out_fen == 0


def test_amounts_round_down_and_the_fraction_stays_with_the_merchant() -> None:
    plan = parse_plan(distribution_doc())
    result = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=line(paid_fen=3333, cost_fen=0))
    assert [p.amount_fen for p in result.lines] == [999, 666, 333, 1335]  # 999.9, 666.6, 333.3
    assert sum(p.amount_fen for p in result.lines) == 3333


def test_a_line_sold_at_a_loss_pays_nothing_on_profit() -> None:
    plan = parse_plan(distribution_doc())
    result = compute_payouts(plan, chain=deck_chain(), buyer=FAN, line=line(paid_fen=4000, cost_fen=5000))
    assert result.profit_fen == 0 and result.pool_fen == 0
    assert [p.amount_fen for p in result.lines] == [0, 0, 0, 0]
