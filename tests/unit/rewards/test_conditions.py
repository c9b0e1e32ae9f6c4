"""Upgrade conditions (SPEC §4.4): AND/OR trees over facts, the highest level that holds."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from backend.rewards.conditions import (
    FactCondition,
    FactKind,
    MemberFacts,
    decide_upgrade,
    holds,
    target_level,
    target_tier,
)
from backend.rewards.plan import parse_plan
from tests.unit.rewards.plans import DECK_TIERS

LEVEL_ORDER = ("l3", "l2", "l1")


def upgrade_plan(allow_downgrade: bool = False) -> Any:
    tiers = copy.deepcopy(DECK_TIERS)
    tiers[1]["upgrade"] = {"fact": "direct_referrals", "min": 3}
    tiers[2]["upgrade"] = {"all": [{"fact": "direct_referrals", "min": 5},
                                   {"fact": "team_sales_fen", "min": 1000000}]}
    tiers[3]["upgrade"] = {"fact": "direct_referrals", "min": 3, "min_tier": "silver"}
    return parse_plan({
        "name": "升级",
        "distribution": {"tiers": tiers, "allow_downgrade": allow_downgrade},
        "agents": {"mode": "fixed", "allow_downgrade": allow_downgrade, "levels": [
            {"key": "l3", "name": "三级代理", "rate": "5%",
             "upgrade": {"any": [{"fact": "product_pieces", "product_id": 900, "min": 1},
                                 {"fact": "own_sales_fen", "min": 300000}]}},
            {"key": "l2", "name": "二级代理", "rate": "7%",
             "upgrade": {"all": [{"fact": "direct_referrals", "min": 3, "min_level": "l3"},
                                 {"any": [{"fact": "direct_team_sales_fen", "min": 2000000},
                                          {"fact": "cumulative_recharge_fen", "min": 1000000}]}]}},
            {"key": "l1", "name": "一级代理", "rate": "10%",
             "upgrade": {"all": [{"fact": "indirect_referrals", "min": 10, "min_level": "l2"},
                                 {"fact": "single_recharge_fen", "min": 5000000}]}},
            {"key": "trainer", "name": "讲师", "rate": "12%"},
        ]},
    })


def test_direct_referrals_count_only_those_at_or_above_the_level() -> None:
    cond = FactCondition(FactKind.DIRECT_REFERRALS, 3, min_level="l2")
    two_high = MemberFacts(1, direct_referrals=9, direct_referrals_by_level={"l3": 7, "l2": 1, "l1": 1})
    three_high = MemberFacts(1, direct_referrals=9, direct_referrals_by_level={"l3": 6, "l2": 1, "l1": 2})
    assert holds(cond, two_high, level_order=LEVEL_ORDER) is False
    assert holds(cond, three_high, level_order=LEVEL_ORDER) is True


def test_referrals_without_a_level_filter_count_every_referral() -> None:
    cond = FactCondition(FactKind.INDIRECT_REFERRALS, 10)
    assert holds(cond, MemberFacts(1, indirect_referrals=10)) is True
    assert holds(cond, MemberFacts(1, indirect_referrals=9)) is False


@pytest.mark.parametrize(("fact", "field"), [
    (FactKind.OWN_SALES, "own_sales_fen"),
    (FactKind.DIRECT_TEAM_SALES, "direct_team_sales_fen"),
    (FactKind.INDIRECT_TEAM_SALES, "indirect_team_sales_fen"),
    (FactKind.TEAM_SALES, "team_sales_fen"),
    (FactKind.CUMULATIVE_RECHARGE, "cumulative_recharge_fen"),
    (FactKind.SINGLE_RECHARGE, "single_recharge_fen"),
])
def test_amount_facts_hold_from_their_threshold_up(fact: FactKind, field: str) -> None:
    cond = FactCondition(fact, 50000)
    assert holds(cond, MemberFacts(1, **{field: 50000})) is True
    assert holds(cond, MemberFacts(1, **{field: 49999})) is False


def test_pieces_of_a_product_are_counted_per_product() -> None:
    cond = FactCondition(FactKind.PRODUCT_PIECES, 2, product_id="900")
    assert holds(cond, MemberFacts(1, product_pieces={"900": 2})) is True
    assert holds(cond, MemberFacts(1, product_pieces={"901": 5, "900": 1})) is False


def test_the_highest_level_whose_conditions_hold_is_reached() -> None:
    plan = upgrade_plan()
    facts = MemberFacts(1, direct_referrals=4, direct_referrals_by_level={"l3": 2, "l1": 1},
                        indirect_referrals_by_level={"l2": 10}, single_recharge_fen=5000000,
                        cumulative_recharge_fen=5000000, own_sales_fen=0)
    assert target_level(plan, facts) == "l1"


def test_an_and_needs_every_branch() -> None:
    plan = upgrade_plan()
    facts = MemberFacts(1, direct_referrals_by_level={"l3": 3}, direct_team_sales_fen=1999999,
                        cumulative_recharge_fen=999999)
    assert target_level(plan, facts) is None
    assert target_level(plan, MemberFacts(1, direct_referrals_by_level={"l3": 3},
                                          cumulative_recharge_fen=1000000)) == "l2"


def test_buying_the_level_pack_grants_level_three() -> None:
    plan = upgrade_plan()
    assert target_level(plan, MemberFacts(1, product_pieces={"900": 1})) == "l3"


def test_a_level_without_conditions_is_never_reached_automatically() -> None:
    plan = upgrade_plan()
    everything = MemberFacts(1, direct_referrals=99, direct_referrals_by_level={"trainer": 99},
                             indirect_referrals_by_level={"trainer": 99}, single_recharge_fen=10**9,
                             cumulative_recharge_fen=10**9, own_sales_fen=10**9, direct_team_sales_fen=10**9)
    assert target_level(plan, everything) == "l1"


def test_a_level_set_by_hand_stays_when_the_conditions_no_longer_hold() -> None:
    plan = upgrade_plan()
    assert target_level(plan, MemberFacts(1, agent_level="trainer")) == "trainer"
    assert target_level(plan, MemberFacts(1, agent_level="l2", product_pieces={"900": 1})) == "l2"


def test_levels_go_down_only_when_the_plan_allows_it_and_the_level_is_not_locked() -> None:
    plan = upgrade_plan(allow_downgrade=True)
    assert target_level(plan, MemberFacts(1, agent_level="l2", product_pieces={"900": 1})) == "l3"
    assert target_level(plan, MemberFacts(1, agent_level="l2")) is None
    assert target_level(plan, MemberFacts(1, agent_level="trainer", level_locked=True)) == "trainer"


def test_promoter_tiers_rise_by_the_same_kind_of_conditions() -> None:
    plan = upgrade_plan()
    assert target_tier(plan, MemberFacts(1, direct_referrals=2)) == "normal"
    assert target_tier(plan, MemberFacts(1, direct_referrals=3)) == "bronze"
    assert target_tier(plan, MemberFacts(1, direct_referrals=5, team_sales_fen=1000000)) == "silver"
    assert target_tier(plan, MemberFacts(1, direct_referrals=3,
                                         direct_referrals_by_tier={"silver": 2, "gold": 1})) == "gold"


def test_a_tier_does_not_fall_unless_the_plan_allows_it() -> None:
    assert target_tier(upgrade_plan(), MemberFacts(1, tier="gold")) == "gold"
    assert target_tier(upgrade_plan(allow_downgrade=True), MemberFacts(1, tier="gold")) == "normal"


def test_the_decision_names_what_changes() -> None:
    plan = upgrade_plan()
    decision = decide_upgrade(plan, MemberFacts(7, agent_level="l3", tier="normal", direct_referrals=3,
                                                direct_referrals_by_level={"l3": 3},
                                                cumulative_recharge_fen=1000000))
    assert (decision.member_id, decision.level_from, decision.level_to, decision.tier_from, decision.tier_to) == (
        7, "l3", "l2", "normal", "bronze")
    assert decision.level_changed and decision.tier_changed


def test_an_untiered_promoter_that_stays_at_the_default_tier_is_not_a_change() -> None:
    decision = decide_upgrade(upgrade_plan(), MemberFacts(7))
    assert decision.changed is False
