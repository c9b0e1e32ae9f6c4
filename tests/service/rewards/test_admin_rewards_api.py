"""The back-office rewards endpoints and the `flask plans` commands, end to end."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from backend.extensions import db
from backend.rewards.models import RewardPlan

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
DECK_PLAN = {"name": "三级分销", "distribution": {"tiers": [
    {"key": "normal", "name": "普通推广员", "rates": ["30%", "20%", "10%"]}]}}
LEVELS = {"name": "代理", "agents": {"levels": [
    {"key": "l3", "name": "三级代理", "rate": "5%"}, {"key": "l1", "name": "一级代理", "rate": "10%"}]}}


def boss_headers(factory: Any, tenant: Any, role: str = "boss") -> dict[str, str]:
    return factory.staff_headers(factory.staff(tenant, role=role))


def test_the_boss_saves_validates_and_activates_plan_versions(client: Any, factory: Any) -> None:
    t = factory.tenant()
    h = boss_headers(factory, t)
    resp = client.post("/api/v1/admin/rewards/plans", headers=h, json={"document": DECK_PLAN})
    assert resp.status_code == 201 and (resp.json["version"], resp.json["status"]) == (1, "draft")
    assert client.get("/api/v1/admin/rewards/plans/active", headers=h).json["code"] == "no_active_plan"
    resp = client.post("/api/v1/admin/rewards/plans/1/activate", headers=h)
    assert resp.status_code == 200 and resp.json["status"] == "active"
    active = client.get("/api/v1/admin/rewards/plans/active", headers=h).json
    assert active["document"]["distribution"]["tiers"][0]["rates"] == ["30%", "20%", "10%"]
    listed = client.get("/api/v1/admin/rewards/plans", headers=h).json
    assert [(p["version"], p["status"]) for p in listed["items"]] == [(1, "active")]


def test_an_invalid_plan_answers_400_with_every_field_path_and_saves_nothing(client: Any, factory: Any) -> None:
    t = factory.tenant()
    h = boss_headers(factory, t)
    bad = copy.deepcopy(LEVELS)
    bad["agents"]["levels"][1]["rate"] = "3%"  # below the lower level
    bad["agents"]["levels"][0]["upgrade"] = {"fact": "moon_phase", "min": 1}
    bad["cap"] = {"base": "paid", "rate": "120%"}
    resp = client.post("/api/v1/admin/rewards/plans", headers=h, json={"document": bad})
    assert resp.status_code == 400
    assert resp.json["code"] == "invalid_plan"
    assert [d["field"] for d in resp.json["details"]] == [
        "agents.levels[0].upgrade.fact", "agents.levels[1].rate", "cap.rate"]
    assert db.session.scalar(select(func.count()).select_from(RewardPlan)) == 0


def test_a_float_rate_sent_as_json_number_is_a_400_not_a_500(client: Any, factory: Any) -> None:
    t = factory.tenant()
    doc = copy.deepcopy(DECK_PLAN)
    doc["distribution"]["tiers"][0]["rates"][0] = 0.3
    resp = client.post("/api/v1/admin/rewards/plans/validate", headers=boss_headers(factory, t),
                       json={"document": doc})
    assert resp.status_code == 400 and resp.json["details"][0]["field"] == "distribution.tiers[0].rates[0]"


def test_finance_staff_may_simulate_but_not_change_plans_and_sales_may_do_neither(
        client: Any, factory: Any) -> None:
    t = factory.tenant()
    case = json.loads((EXAMPLES / "agents_level_difference_paid.json").read_text(encoding="utf-8"))
    sales = boss_headers(factory, t, role="sales")  # the simulator is not a sales tool (policy.py)
    assert client.post("/api/v1/admin/rewards/simulate", headers=sales, json={"case": case}).status_code == 403
    h = boss_headers(factory, t, role="finance")
    assert client.post("/api/v1/admin/rewards/plans", headers=h, json={"document": DECK_PLAN}).status_code == 403
    resp = client.post("/api/v1/admin/rewards/simulate", headers=h, json={"case": case})
    assert resp.status_code == 200
    assert [p["amount_fen"] for p in resp.json["order_lines"][0]["payouts"]] == [5000, 2000, 3000, 20000]


def test_the_simulator_endpoint_never_reads_a_plan_file_named_by_the_request(client: Any, factory: Any) -> None:
    t = factory.tenant()
    case = json.loads((EXAMPLES / "distribution_deck_example.json").read_text(encoding="utf-8"))
    case["plan"] = "../../../etc/passwd"
    resp = client.post("/api/v1/admin/rewards/simulate", headers=boss_headers(factory, t), json={"case": case})
    assert resp.status_code == 400 and resp.json["details"][0]["field"] == "plan"


def test_the_boss_sets_a_level_by_hand_and_sees_the_history(client: Any, factory: Any) -> None:
    t = factory.tenant()
    h = boss_headers(factory, t)
    m = factory.member(t)
    client.post("/api/v1/admin/rewards/plans", headers=h, json={"document": LEVELS})
    client.post("/api/v1/admin/rewards/plans/1/activate", headers=h)
    resp = client.put(f"/api/v1/admin/rewards/members/{m.id}/level", headers=h, json={"agent_level": "l1"})
    assert resp.status_code == 200 and resp.json["agent_level"] == "l1"
    assert [(c["to"], c["source"]) for c in resp.json["history"]] == [("l1", "manual")]
    bad = client.put(f"/api/v1/admin/rewards/members/{m.id}/level", headers=h, json={"agent_level": "l7"})
    assert bad.status_code == 400 and bad.json["code"] == "unknown_level"
    other = factory.tenant()
    foreign = client.get(f"/api/v1/admin/rewards/members/{m.id}/levels", headers=boss_headers(factory, other))
    assert foreign.status_code == 404


def test_flask_plans_commands_validate_save_activate_show_and_simulate(app: Any, factory: Any,
                                                                        tmp_path: Path) -> None:
    t = factory.tenant()
    runner = app.test_cli_runner()
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(DECK_PLAN, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["plans", "validate", str(plan_file)])
    assert result.exit_code == 0 and json.loads(result.output)["valid"] is True

    result = runner.invoke(args=["plans", "save", "--tenant", t.slug, str(plan_file)])
    assert result.exit_code == 0 and json.loads(result.output)["version"] == 1
    result = runner.invoke(args=["plans", "activate", "--tenant", t.slug, "--version", "1"])
    assert result.exit_code == 0 and json.loads(result.output)["status"] == "active"
    result = runner.invoke(args=["plans", "show", "--tenant", t.slug])
    assert json.loads(result.output)["document"]["name"] == "三级分销"

    case = json.loads((EXAMPLES / "distribution_deck_example.json").read_text(encoding="utf-8"))
    del case["plan"]
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(case), encoding="utf-8")
    result = runner.invoke(args=["plans", "simulate", "--tenant", t.slug, str(case_file)])
    assert result.exit_code == 0
    assert json.loads(result.output)["totals"]["by_member_fen"] == {"D": 3000, "C": 2000, "B": 1000}


def test_flask_plans_validate_prints_the_errors_and_exits_2(app: Any, tmp_path: Path) -> None:
    bad = copy.deepcopy(DECK_PLAN)
    bad["distribution"]["depth"] = 5
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(bad), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["plans", "validate", str(plan_file)])
    assert result.exit_code == 2
    assert json.loads(result.stderr)["details"] == [
        {"field": "distribution.depth", "message": "层级数须为 1 到 3 的整数"}]
