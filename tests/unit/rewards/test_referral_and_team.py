"""Referral bonuses on a level change and the team performance bonus per period (SPEC §4.3)."""

from __future__ import annotations

from typing import Any

import pytest

from backend.rewards.engine import (
    AgentTeam,
    Buyer,
    ChainMember,
    OrderLine,
    PayoutKind,
    Withheld,
    compute_payouts,
    referral_bonuses,
    team_performance_bonuses,
)
from backend.rewards.plan import parse_plan
from tests.unit.rewards.plans import agents_doc


def referral_plan() -> Any:
    return parse_plan(agents_doc(mode="fixed", base="paid", levels=[
        {"key": "l3", "name": "三级代理", "rate": "5%", "peer_bonus_rate": "1%",
         "referral_bonus_fen": {"lower": 1000, "peer": 2000, "over": 3000}},
        {"key": "l2", "name": "二级代理", "rate": "7%", "peer_bonus_rate": "1%", "over_level_bonus_rate": "0.5%",
         "referral_bonus_fen": {"lower": 4000, "peer": 5000, "over": 6000}},
        {"key": "l1", "name": "一级代理", "rate": "10%",
         "referral_bonus_fen": {"lower": 7000, "peer": 8000, "over": 0}},
    ]))


LINE = OrderLine(order_line_id=1, product_id="wine", paid_fen=100000, cost_fen=10000)


def test_an_upline_above_the_new_agent_earns_the_lower_referral_bonus_and_keeps_its_dividends() -> None:
    plan = referral_plan()
    [bonus] = referral_bonuses(plan, member_id="B", old_level=None, new_level="l2",
                               parent=ChainMember("A", agent_level="l1"))
    assert (bonus.kind, bonus.beneficiary_id, bonus.amount_fen) == (PayoutKind.REFERRAL_LOWER, "A", 7000)
    assert bonus.reference == "referral:B:l2"
    assert bonus.explanation == ("下级推荐奖（一级代理）：直属下级成为二级代理，奖励 70.00；"
                                 "您的等级更高，仍可获得该线代理分红")
    after = compute_payouts(plan, chain=[ChainMember("B", agent_level="l2"), ChainMember("A", agent_level="l1")],
                            buyer=Buyer("fan"), line=LINE)
    assert {p.beneficiary_id: p.kind for p in after.lines if p.beneficiary_id} == {
        "B": PayoutKind.AGENT_DIVIDEND, "A": PayoutKind.AGENT_DIVIDEND}


def test_an_upline_at_the_new_agents_level_earns_the_peer_referral_bonus_and_loses_the_dividend() -> None:
    plan = referral_plan()
    [bonus] = referral_bonuses(plan, member_id="B", old_level="l3", new_level="l2",
                               parent=ChainMember("A", agent_level="l2"))
    assert (bonus.kind, bonus.amount_fen) == (PayoutKind.REFERRAL_PEER, 5000)
    after = compute_payouts(plan, chain=[ChainMember("B", agent_level="l2"), ChainMember("A", agent_level="l2")],
                            buyer=Buyer("fan"), line=LINE)
    assert [(p.beneficiary_id, p.kind, p.amount_fen) for p in after.lines if p.beneficiary_id] == [
        ("B", PayoutKind.AGENT_DIVIDEND, 7000), ("A", PayoutKind.PEER_BONUS, 1000)]


def test_an_upline_below_the_new_agent_earns_the_over_level_referral_bonus_and_loses_the_dividend() -> None:
    plan = referral_plan()
    [bonus] = referral_bonuses(plan, member_id="B", old_level="l3", new_level="l1",
                               parent=ChainMember("A", agent_level="l2"))
    assert (bonus.kind, bonus.amount_fen) == (PayoutKind.REFERRAL_OVER, 6000)
    assert bonus.explanation.startswith("越级推荐奖（二级代理）：直属下级成为一级代理，高于您的等级，奖励 60.00")
    after = compute_payouts(plan, chain=[ChainMember("B", agent_level="l1"), ChainMember("A", agent_level="l2")],
                            buyer=Buyer("fan"), line=LINE)
    assert [(p.beneficiary_id, p.kind, p.amount_fen) for p in after.lines if p.beneficiary_id] == [
        ("B", PayoutKind.AGENT_DIVIDEND, 10000), ("A", PayoutKind.OVER_LEVEL_BONUS, 500)]


def test_a_level_going_down_or_staying_pays_no_referral_bonus() -> None:
    plan = referral_plan()
    parent = ChainMember("A", agent_level="l1")
    assert referral_bonuses(plan, member_id="B", old_level="l2", new_level="l3", parent=parent) == ()
    assert referral_bonuses(plan, member_id="B", old_level="l2", new_level="l2", parent=parent) == ()


def test_a_parent_without_an_agent_level_earns_no_referral_bonus() -> None:
    plan = referral_plan()
    assert referral_bonuses(plan, member_id="B", old_level=None, new_level="l3", parent=ChainMember("A")) == ()
    assert referral_bonuses(plan, member_id="B", old_level=None, new_level="l3", parent=None) == ()


def test_a_level_without_referral_amounts_pays_nothing() -> None:
    plan = parse_plan(agents_doc())  # no referral_bonus_fen: every amount is 0
    assert referral_bonuses(plan, member_id="B", old_level=None, new_level="l1",
                            parent=ChainMember("A", agent_level="l1")) == ()


def test_a_frozen_parent_is_shown_its_referral_bonus_but_paid_nothing() -> None:
    [bonus] = referral_bonuses(referral_plan(), member_id="B", old_level=None, new_level="l3",
                               parent=ChainMember("A", promoter_active=False, agent_level="l3"))
    assert (bonus.kind, bonus.nominal_fen, bonus.amount_fen, bonus.withheld) == (
        PayoutKind.REFERRAL_PEER, 2000, 0, Withheld.FROZEN)


def team_plan(paid_to: str) -> Any:
    return parse_plan(agents_doc(team_performance={"paid_to": paid_to, "tiers": [
        {"min_sales_fen": 1000000, "rate": "1%"},
        {"min_sales_fen": 5000000, "rate": "2%"},
        {"min_sales_fen": 10000000, "rate": "3%"},
    ]}))


# A (一级) → B (一级) → … → D (三级): A's team sold 120,000.00 this month, B's 60,000.00, D's 15,000.00.
TEAMS = [
    AgentTeam("A", "l1", 12000000),
    AgentTeam("B", "l1", 6000000, upline_agent_id="A"),
    AgentTeam("D", "l3", 1500000, upline_agent_id="B"),
]


def test_paid_to_every_agent_each_earns_on_its_team_less_what_agents_below_already_earned() -> None:
    lines = team_performance_bonuses(team_plan("every"), period="2026-10", teams=TEAMS)
    assert [(p.beneficiary_id, p.amount_fen) for p in lines] == [("D", 15000), ("B", 105000), ("A", 240000)]
    assert lines[2].explanation == ("团队业绩奖（2026-10，一级代理）：团队业绩 120000.00 × 3% = 3600.00"
                                    " − 团队内下级代理已得 1200.00 = 2400.00")
    assert sum(p.amount_fen for p in lines) == 360000  # A's team's sales × A's rate, once


def test_paid_to_the_highest_level_only_skips_lower_agents() -> None:
    lines = team_performance_bonuses(team_plan("highest"), period="2026-10", teams=TEAMS)
    assert [(p.beneficiary_id, p.amount_fen) for p in lines] == [("B", 120000), ("A", 240000)]


def test_a_team_below_the_first_sales_tier_earns_nothing() -> None:
    lines = team_performance_bonuses(team_plan("every"), period="2026-10",
                                     teams=[AgentTeam("A", "l1", 999999)])
    assert lines == ()


def test_a_frozen_agents_bonus_is_withheld_and_not_deducted_from_its_upline() -> None:
    teams = [AgentTeam("A", "l1", 12000000), AgentTeam("B", "l1", 6000000, upline_agent_id="A",
                                                       promoter_active=False)]
    lines = team_performance_bonuses(team_plan("every"), period="2026-10", teams=teams)
    assert [(p.beneficiary_id, p.amount_fen, p.withheld) for p in lines] == [
        ("B", 0, Withheld.FROZEN), ("A", 360000, None)]


def test_an_upline_cycle_among_agents_is_refused() -> None:
    teams = [AgentTeam("A", "l1", 1, upline_agent_id="B"), AgentTeam("B", "l1", 1, upline_agent_id="A")]
    with pytest.raises(ValueError, match="cycle"):
        team_performance_bonuses(team_plan("every"), period="2026-10", teams=teams)


def test_a_plan_without_team_performance_pays_none() -> None:
    assert team_performance_bonuses(parse_plan(agents_doc()), period="2026-10", teams=TEAMS) == ()
