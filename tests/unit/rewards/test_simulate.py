"""The simulator: case files in, payouts JSON out (docs/examples are the SPEC worked examples)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backend.rewards.errors import InvalidCase
from backend.rewards.simulate import main, simulate_document

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def payouts(result: dict[str, Any], index: int = 0) -> list[tuple[Any, str, int]]:
    return [(p["beneficiary"], p["kind"], p["amount_fen"]) for p in result["order_lines"][index]["payouts"]]


def test_the_deck_distribution_example_file_pays_d_c_b() -> None:
    result = simulate_document(example("distribution_deck_example.json"))
    assert payouts(result) == [("D", "dist_l1", 3000), ("C", "dist_l2", 2000), ("B", "dist_l3", 1000),
                               (None, "merchant_remainder", 4000)]
    assert result["order_lines"][0]["payouts"][0]["explanation"] == "一级佣金：利润 100.00 × 30% = 30.00"
    assert result["totals"] == {"by_member_fen": {"D": 3000, "C": 2000, "B": 1000}, "paid_out_fen": 6000,
                                "merchant_fen": 4000}


def test_the_level_difference_example_file_pays_a_30_b_20_c_50() -> None:
    result = simulate_document(example("agents_level_difference_paid.json"))
    assert payouts(result) == [("C", "agent_dividend", 5000), ("B", "agent_dividend", 2000),
                               ("A", "agent_dividend", 3000), (None, "merchant_remainder", 20000)]
    assert result["order_lines"][0]["payouts"][1]["rate"] == "2%"


def test_the_three_plus_three_example_file_explains_every_part() -> None:
    result = simulate_document(example("three_plus_three.json"))
    assert payouts(result, 0) == [
        ("D", "dist_l1", 15000), ("D", "agent_dividend", 1500), ("C", "dist_l2", 0),
        ("B", "dist_l3", 3000), ("B", "agent_dividend", 3000), ("A", "peer_bonus", 600),
        (None, "merchant_remainder", 6900)]
    assert payouts(result, 1) == [
        ("D", "dist_l1", 3000), ("D", "agent_dividend", 450), ("C", "dist_l2", 0),
        ("B", "agent_dividend", 900), ("A", "peer_bonus", 180), (None, "merchant_remainder", 4470)]
    assert [(p["beneficiary"], p["kind"], p["amount_fen"]) for p in result["referral_bonuses"]] == [
        ("A", "referral_peer", 15000)]
    assert [(p["beneficiary"], p["amount_fen"]) for p in result["team_performance"]] == [
        ("D", 15000), ("B", 105000), ("A", 240000)]
    assert result["totals"]["by_member_fen"] == {"D": 34950, "B": 111900, "A": 255780}


def test_the_cli_prints_the_payouts_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(EXAMPLES / "distribution_deck_example.json"), "--compact"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["totals"]["paid_out_fen"] == 6000


def test_the_cli_can_try_another_plan_on_the_same_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = {"distribution": {"tiers": [{"key": "n", "name": "普通", "rates": ["40%", "10%", "5%"]}]}}
    (tmp_path / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    assert main([str(EXAMPLES / "distribution_deck_example.json"), "--plan", str(tmp_path / "plan.json")]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["by_member_fen"] == {"D": 4000, "C": 1000, "B": 500}


def test_the_cli_reports_an_invalid_case_on_stderr_with_exit_code_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = example("distribution_deck_example.json")
    case["plan"]["distribution"]["tiers"][0]["rates"][0] = "130%"
    (tmp_path / "case.json").write_text(json.dumps(case), encoding="utf-8")
    assert main([str(tmp_path / "case.json")]) == 2
    err = json.loads(capsys.readouterr().err)
    assert err["code"] == "invalid_case"
    assert err["details"] == [{"field": "plan.distribution.tiers[0].rates[0]", "message": "比例须在 0% 到 100% 之间"}]


def test_a_case_may_name_its_plan_file_beside_it(tmp_path: Path) -> None:
    case = example("distribution_deck_example.json")
    (tmp_path / "plan.json").write_text(json.dumps(case["plan"]), encoding="utf-8")
    case["plan"] = "plan.json"
    result = simulate_document(case, base_dir=tmp_path)
    assert result["totals"]["paid_out_fen"] == 6000


def case_errors(case: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(InvalidCase) as caught:
        simulate_document(case)
    return caught.value.errors


def test_a_parent_missing_from_the_members_is_refused() -> None:
    case = example("distribution_deck_example.json")
    case["members"][0]["parent"] = "Z"
    assert case_errors(case) == [{"field": "members[0].parent", "message": "上级不在 members 中：'Z'"}]


def test_a_cycle_in_the_parents_is_refused() -> None:
    case = example("distribution_deck_example.json")
    case["members"][0]["parent"] = "e"
    assert [e["field"] for e in case_errors(case)] == ["members"]


def test_a_level_the_plan_does_not_have_is_refused() -> None:
    case = example("agents_level_difference_paid.json")
    case["members"][0]["level"] = "l0"
    assert case_errors(case) == [{"field": "members[0].level", "message": "方案中没有代理等级：'l0'"}]


def test_order_line_amounts_must_be_whole_non_negative_fen() -> None:
    case = example("distribution_deck_example.json")
    case["order"]["lines"][0]["paid_fen"] = 150.5
    case["order"]["lines"][0]["quantity"] = 0
    assert [e["field"] for e in case_errors(case)] == ["order.lines[0].quantity", "order.lines[0].paid_fen"]
