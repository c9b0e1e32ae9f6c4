"""The plan JSON format: what it accepts, and the precise errors for what it refuses."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from backend.rewards.conditions import AllOf, FactCondition, FactKind
from backend.rewards.errors import InvalidPlan
from backend.rewards.plan import AgentMode, Base, PaidTo, parse_plan, plan_to_json
from tests.unit.rewards.plans import DECK_TIERS, agent_levels, agents_doc, distribution_doc

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"


def errors_of(doc: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidPlan) as caught:
        parse_plan(doc)
    assert caught.value.code == "invalid_plan"
    assert caught.value.http_status == 400
    assert caught.value.to_dict()["details"] == caught.value.errors
    return caught.value.errors


def fields_of(doc: Any) -> list[str]:
    return [e["field"] for e in errors_of(doc)]


def test_rates_may_be_written_as_fractions_or_percentages() -> None:
    plan = parse_plan(distribution_doc(tiers=[{"key": "n", "name": "普通", "rates": ["0.30", "20%", "7.5%"]}]))
    assert plan.distribution.tiers[0].rates == (Decimal("0.3"), Decimal("0.2"), Decimal("0.075"))


def test_a_full_plan_parses_into_its_parts() -> None:
    doc = json.loads((EXAMPLES / "three_plus_three.json").read_text(encoding="utf-8"))["plan"]
    plan = parse_plan(doc, version=7)
    assert plan.version == 7
    assert [t.key for t in plan.distribution.tiers] == ["normal", "bronze", "silver", "gold"]
    assert plan.distribution.default_tier == "normal"
    assert plan.agents.mode is AgentMode.FIXED and plan.agents.base is Base.PROFIT
    assert [(lv.key, lv.rank, lv.rate) for lv in plan.agents.levels] == [
        ("l3", 1, Decimal("0.05")), ("l2", 2, Decimal("0.07")), ("l1", 3, Decimal("0.10"))]
    assert plan.level_by_key["l2"].referral.lower_fen == 10000
    assert plan.level_by_key["l2"].upgrade == AllOf((
        FactCondition(FactKind.DIRECT_REFERRALS, 3, min_level="l3"),
        FactCondition(FactKind.TEAM_SALES, 2000000)))
    assert plan.agents.team_performance is not None
    assert plan.agents.team_performance.paid_to is PaidTo.EVERY
    assert plan.override_for("gift-box", None).fixed_fen == (1000, 500, 0)  # type: ignore[union-attr]


def test_the_canonical_document_parses_back_to_the_same_plan() -> None:
    doc = json.loads((EXAMPLES / "three_plus_three.json").read_text(encoding="utf-8"))["plan"]
    plan = parse_plan(doc)
    canonical = plan_to_json(plan)
    assert parse_plan(canonical) == plan
    assert canonical["agents"]["levels"][2]["rate"] == "10%"
    assert canonical["agents"]["levels"][0]["over_level_bonus_rate"] == "0.5%"


def test_a_plan_with_neither_distribution_nor_agents_is_refused() -> None:
    assert errors_of({"name": "空"}) == [
        {"field": "", "message": "方案须至少启用分销（distribution）或代理（agents）之一"}]


def test_a_rate_above_one_hundred_percent_names_its_field() -> None:
    doc = agents_doc()
    doc["agents"]["levels"][1]["rate"] = "120%"
    assert errors_of(doc) == [{"field": "agents.levels[1].rate", "message": "比例须在 0% 到 100% 之间"}]


def test_a_negative_tier_rate_names_its_tier_and_level() -> None:
    doc = distribution_doc(tiers=[{"key": "n", "name": "普通", "rates": ["30%", "-1%", "10%"]}])
    assert fields_of(doc) == ["distribution.tiers[0].rates[1]"]


def test_a_float_rate_is_refused_because_it_has_already_lost_precision() -> None:
    doc = agents_doc()
    doc["agents"]["levels"][0]["rate"] = 0.05
    [error] = errors_of(doc)
    assert error["field"] == "agents.levels[0].rate"
    assert "不接受浮点数" in error["message"]


def test_a_rate_finer_than_the_stored_precision_is_refused() -> None:
    doc = distribution_doc(tiers=[{"key": "n", "name": "普通", "rates": ["33.3333333%", "20%", "10%"]}])
    [error] = errors_of(doc)
    assert error["field"] == "distribution.tiers[0].rates[0]"
    assert error["message"].startswith("比例精度过高：最多 8 位小数")
    assert parse_plan(distribution_doc(tiers=[{"key": "n", "name": "普通", "rates": ["33.333333%", "0.2", "1%"]}]))


def test_agent_levels_listed_out_of_order_are_refused_at_the_first_lower_rate() -> None:
    doc = agents_doc()
    doc["agents"]["levels"] = list(reversed(agent_levels()))  # 10%, 7%, 5%: highest first
    errors = errors_of(doc)
    assert [e["field"] for e in errors] == ["agents.levels[1].rate", "agents.levels[2].rate"]
    assert errors[0]["message"] == "代理等级须从低到高排列：比例不得低于前一等级（一级代理 10%）"


def test_an_unknown_condition_kind_names_its_place_in_the_tree() -> None:
    doc = agents_doc()
    doc["agents"]["levels"][2]["upgrade"] = {"all": [
        {"fact": "direct_referrals", "min": 3},
        {"any": [{"fact": "own_sales_fen", "min": 100}, {"fact": "lucky_number", "min": 7}]},
    ]}
    errors = errors_of(doc)
    assert [e["field"] for e in errors] == ["agents.levels[2].upgrade.all[1].any[1].fact"]
    assert errors[0]["message"].startswith("未知的条件类型：'lucky_number'")


def test_a_condition_on_an_unknown_level_is_refused() -> None:
    doc = agents_doc()
    doc["agents"]["levels"][1]["upgrade"] = {"fact": "direct_referrals", "min": 2, "min_level": "l9"}
    assert errors_of(doc) == [{"field": "agents.levels[1].upgrade.min_level", "message": "未知的代理等级：'l9'"}]


def test_a_condition_may_refer_to_a_higher_level_listed_later() -> None:
    doc = agents_doc()
    doc["agents"]["levels"][0]["upgrade"] = {"fact": "direct_referrals", "min": 1, "min_level": "l1"}
    assert parse_plan(doc).level_by_key["l3"].upgrade == FactCondition(
        FactKind.DIRECT_REFERRALS, 1, min_level="l1")


def test_a_product_condition_needs_its_product() -> None:
    doc = agents_doc()
    doc["agents"]["levels"][0]["upgrade"] = {"fact": "product_pieces", "min": 1}
    assert fields_of(doc) == ["agents.levels[0].upgrade.product_id"]


def test_a_cap_above_the_paid_amount_is_refused() -> None:
    doc = agents_doc(cap={"base": "paid", "rate": "150%"})
    assert errors_of(doc) == [{"field": "cap.rate", "message": "封顶不得高于实付金额（最多 100%）"}]


def test_a_zero_cap_is_refused() -> None:
    assert fields_of(agents_doc(cap={"base": "profit", "rate": "0"})) == ["cap.rate"]


def test_the_cap_defaults_to_the_profit() -> None:
    plan = parse_plan(agents_doc())
    assert (plan.cap.base, plan.cap.rate) == (Base.PROFIT, Decimal(1))


def test_depth_outside_one_to_three_is_refused() -> None:
    assert "distribution.depth" in fields_of(distribution_doc(depth=4))


def test_tier_rates_must_match_the_depth() -> None:
    errors = errors_of(distribution_doc(depth=2))
    assert errors == [{"field": "distribution.tiers[0].rates", "message": "须有 2 项（与 depth 一致），实际 3 项"}]


def test_every_defect_is_reported_at_once() -> None:
    doc = distribution_doc(base="revenue", tiers=[
        {"key": "a", "name": "甲", "rates": ["30%", "20%", "10%"]},
        {"key": "a", "name": "乙", "rates": ["30%", "20%", "abc"]},
    ])
    doc["colour"] = "red"
    assert sorted(fields_of(doc)) == sorted([
        "colour", "distribution.base", "distribution.tiers[1].key", "distribution.tiers[1].rates[2]"])


def test_an_unknown_field_is_reported_so_typos_do_not_pass_silently() -> None:
    doc = agents_doc()
    doc["agents"]["levels"][0]["peer_bonus"] = "1%"
    assert errors_of(doc) == [{"field": "agents.levels[0].peer_bonus", "message": "未知字段：peer_bonus"}]


def test_an_override_must_choose_exactly_one_rule() -> None:
    doc = distribution_doc(overrides=[{"product_id": 9, "rates": ["1%", "1%", "1%"], "opt_out": True}])
    assert errors_of(doc) == [{"field": "distribution.overrides[0]",
                               "message": "rates、fixed_fen、opt_out 须且只能选一个"}]


def test_a_fixed_override_must_be_whole_fen() -> None:
    doc = distribution_doc(overrides=[{"product_id": 9, "fixed_fen": [100, 50.5, 0]}])
    assert fields_of(doc) == ["distribution.overrides[0].fixed_fen[1]"]


def test_the_same_product_may_not_be_overridden_twice() -> None:
    doc = distribution_doc(overrides=[{"product_id": 9, "opt_out": True}, {"product_id": "9", "opt_out": True}])
    assert fields_of(doc) == ["distribution.overrides[1]"]


def test_team_performance_tiers_must_rise() -> None:
    doc = agents_doc(team_performance={"paid_to": "every", "tiers": [
        {"min_sales_fen": 500000, "rate": "2%"}, {"min_sales_fen": 100000, "rate": "1%"}]})
    assert fields_of(doc) == ["agents.team_performance.tiers[1].min_sales_fen"]


def test_team_performance_needs_to_know_who_is_paid() -> None:
    doc = agents_doc(team_performance={"tiers": [{"min_sales_fen": 1, "rate": "1%"}]})
    assert errors_of(doc) == [{"field": "agents.team_performance.paid_to", "message": "必填"}]


def test_the_default_tier_must_exist() -> None:
    assert fields_of(distribution_doc(default_tier="vip")) == ["distribution.default_tier"]


def test_the_deck_tier_table_parses_with_its_rates() -> None:
    plan = parse_plan(distribution_doc(tiers=copy.deepcopy(DECK_TIERS)))
    assert plan.tier_by_key["gold"].rates == (Decimal("0.5"), Decimal("0.3"), Decimal("0.2"))
    assert plan.tier_by_key["bronze"].rates == (Decimal("0.2"), Decimal("0.1"), Decimal("0.05"))


def test_a_document_that_is_not_an_object_is_refused() -> None:
    assert errors_of(["not", "a", "plan"]) == [{"field": "", "message": "须为对象"}]
