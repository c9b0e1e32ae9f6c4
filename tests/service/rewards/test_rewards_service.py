"""Rewards services on the real database: plan versions, recorded payouts (idempotent),
replays, the simulator with the tenant's plan, upgrades, manual levels, team bonuses."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditLog
from backend.db import unit_of_work
from backend.extensions import db
from backend.members import service as members
from backend.members.models import Member
from backend.rewards.conditions import MemberFacts
from backend.rewards.engine import AgentTeam, OrderLine
from backend.rewards.errors import InvalidPlan, NoActivePlan, PlanVersionNotFound, UnknownLevel
from backend.rewards.models import LevelChange, Payout, RewardLine, RewardPlan
from backend.rewards.service import OrderSnapshot

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
PAID_AT = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)

DECK_PLAN = {"name": "三级分销", "distribution": {"depth": 3, "base": "profit", "tiers": [
    {"key": "normal", "name": "普通推广员", "rates": ["30%", "20%", "10%"]}]}}


def example_plan(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))["plan"]


def activate(rewards: Any, tenant: Any, document: dict[str, Any]) -> int:
    with unit_of_work():
        row = rewards.save_plan_version(tenant_id=tenant.id, document=document, actor="test")
        rewards.activate_plan(tenant_id=tenant.id, version=row.version, actor="test", now=PAID_AT)
        return row.version


def pay(rewards: Any, tenant: Any, buyer: Any, *, order_id: int, lines: list[tuple[int, int, int]],
        paid_at: datetime = PAID_AT) -> list[Payout]:
    """Record the rewards of an order whose lines are (order_line_id, paid_fen, cost_fen)."""
    with unit_of_work():
        snap_buyer, chain = rewards.member_chain(tenant_id=tenant.id, member_id=buyer.id)
        snapshot = OrderSnapshot(order_id=order_id, buyer=snap_buyer, paid_at=paid_at, lines=tuple(
            OrderLine(order_line_id=lid, product_id=7, paid_fen=paid, cost_fen=cost) for lid, paid, cost in lines))
        return rewards.compute_and_record_payouts(tenant_id=tenant.id, order_snapshot=snapshot, chain=chain)


def by_member(rows: list[Payout]) -> dict[int | None, int]:
    out: dict[int | None, int] = {}
    for p in rows:
        out[p.beneficiary_id] = out.get(p.beneficiary_id, 0) + p.amount_fen
    return out


def test_every_saved_change_is_a_new_draft_version(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    with unit_of_work():
        first = rewards.save_plan_version(tenant_id=t.id, document=DECK_PLAN, actor="boss")
        second = rewards.save_plan_version(tenant_id=t.id, document=example_plan("three_plus_three.json"),
                                           actor="boss")
    assert (first.version, first.status, second.version, second.status) == (1, "draft", 2, "draft")
    assert first.document["distribution"]["tiers"][0]["rates"] == ["30%", "20%", "10%"]
    assert [r.version for r in rewards.list_plan_versions(tenant_id=t.id)] == [2, 1]


def test_an_invalid_plan_is_refused_with_its_field_path_and_nothing_is_saved(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    bad = copy.deepcopy(DECK_PLAN)
    bad["distribution"]["tiers"][0]["rates"][1] = "120%"
    with pytest.raises(InvalidPlan) as caught, unit_of_work():
        rewards.save_plan_version(tenant_id=t.id, document=bad, actor="boss")
    assert caught.value.errors == [{"field": "distribution.tiers[0].rates[1]", "message": "比例须在 0% 到 100% 之间"}]
    assert db.session.scalar(select(func.count()).select_from(RewardPlan)) == 0


def test_activating_a_version_retires_the_previous_one_and_is_audited(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    with pytest.raises(NoActivePlan):
        rewards.get_active_plan(tenant_id=t.id)
    activate(rewards, t, DECK_PLAN)
    activate(rewards, t, example_plan("three_plus_three.json"))
    assert [(r.version, r.status) for r in rewards.list_plan_versions(tenant_id=t.id)] == [
        (2, "active"), (1, "retired")]
    assert rewards.get_active_plan(tenant_id=t.id).version == 2
    assert rewards.get_plan_version(tenant_id=t.id, version=1).document["name"] == "三级分销"
    actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.tenant_id == t.id,
                                                                    AuditLog.target_type == "reward_plan")))
    assert actions.count("reward_plan.activate") == 2 and actions.count("reward_plan.save") == 2
    with pytest.raises(PlanVersionNotFound):
        rewards.get_plan_version(tenant_id=t.id, version=9)


def test_plans_of_one_tenant_are_invisible_to_another(factory: Any, rewards: Any) -> None:
    mine, theirs = factory.tenant(), factory.tenant()
    activate(rewards, mine, DECK_PLAN)
    with pytest.raises(NoActivePlan):
        rewards.get_active_plan(tenant_id=theirs.id)
    with pytest.raises(PlanVersionNotFound):
        rewards.get_plan_version(tenant_id=theirs.id, version=1)


def test_a_paid_order_records_the_deck_example_payouts_with_the_plan_version(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    a, b, c, d, e = factory.chain(t, 5)
    version = activate(rewards, t, DECK_PLAN)
    rows = pay(rewards, t, e, order_id=501, lines=[(9001, 15000, 5000)])
    assert [(p.beneficiary_id, p.kind, p.amount_fen) for p in rows] == [
        (d.id, "dist_l1", 3000), (c.id, "dist_l2", 2000), (b.id, "dist_l3", 1000),
        (None, "merchant_remainder", 4000)]
    assert {p.plan_version for p in rows} == {version}
    assert rows[0].explanation == "一级佣金：利润 100.00 × 30% = 30.00"
    line = db.session.scalar(select(RewardLine).where(RewardLine.order_line_id == 9001))
    assert (line.pool_fen, [m["id"] for m in line.chain]) == (10000, [d.id, c.id, b.id, a.id])


def test_recording_the_same_order_again_changes_nothing(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    *_, e = factory.chain(t, 5)
    activate(rewards, t, DECK_PLAN)
    first = pay(rewards, t, e, order_id=501, lines=[(9001, 15000, 5000)])
    again = pay(rewards, t, e, order_id=501, lines=[(9001, 15000, 5000), (9002, 2000, 1000)])
    assert [p.id for p in again[:4]] == [p.id for p in first]
    assert db.session.scalar(select(func.count()).select_from(Payout).where(Payout.order_line_id == 9001)) == 4
    assert sum(p.amount_fen for p in again if p.order_line_id == 9002) == 1000  # the new line's pool


def test_recorded_payouts_keep_the_version_that_produced_them(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    *_, d, e = factory.chain(t, 5)
    activate(rewards, t, DECK_PLAN)
    old = pay(rewards, t, e, order_id=1, lines=[(1, 15000, 5000)])
    richer = copy.deepcopy(DECK_PLAN)
    richer["distribution"]["tiers"][0]["rates"] = ["40%", "20%", "10%"]
    activate(rewards, t, richer)
    new = pay(rewards, t, e, order_id=2, lines=[(2, 15000, 5000)])
    assert (old[0].plan_version, old[0].amount_fen) == (1, 3000)
    assert (new[0].plan_version, new[0].amount_fen, new[0].beneficiary_id) == (2, 4000, d.id)


def test_a_frozen_promoter_keeps_its_place_and_earns_nothing(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    _, b, c, d, e = factory.chain(t, 5)
    activate(rewards, t, DECK_PLAN)
    with unit_of_work():
        members.adjust_member(tenant_id=t.id, member_id=c.id, changes={"promoter_status": "frozen"}, actor="test")
    rows = pay(rewards, t, e, order_id=1, lines=[(1, 15000, 5000)])
    assert by_member(rows) == {d.id: 3000, c.id: 0, b.id: 1000, None: 6000}


def test_a_replay_compares_a_draft_with_what_was_paid_per_member_and_in_total(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    _, b, c, d, e = factory.chain(t, 5)
    activate(rewards, t, DECK_PLAN)
    pay(rewards, t, e, order_id=1, lines=[(1, 15000, 5000)])
    pay(rewards, t, e, order_id=2, lines=[(2, 25000, 5000)])
    pay(rewards, t, e, order_id=3, lines=[(3, 99900, 0)], paid_at=PAID_AT + timedelta(days=40))  # outside
    draft = copy.deepcopy(DECK_PLAN)
    draft["distribution"]["tiers"][0]["rates"] = ["40%", "10%", "10%"]
    report = rewards.replay_plan(tenant_id=t.id, draft=draft, period_start=datetime(2026, 10, 1, tzinfo=UTC),
                                 period_end=datetime(2026, 11, 1, tzinfo=UTC))
    assert report["order_lines"] == 2
    assert report["members"] == [  # largest difference first, then by member id
        {"member_id": c.id, "recorded_fen": 6000, "draft_fen": 3000, "difference_fen": -3000},
        {"member_id": d.id, "recorded_fen": 9000, "draft_fen": 12000, "difference_fen": 3000},
        {"member_id": b.id, "recorded_fen": 3000, "draft_fen": 3000, "difference_fen": 0},
    ]
    assert report["total"] == {"recorded_fen": 18000, "draft_fen": 18000, "difference_fen": 0,
                               "merchant_recorded_fen": 12000, "merchant_draft_fen": 12000}


def test_the_simulator_uses_the_tenants_active_plan_when_the_case_has_none(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    activate(rewards, t, DECK_PLAN)
    case = json.loads((EXAMPLES / "distribution_deck_example.json").read_text(encoding="utf-8"))
    del case["plan"]
    result = rewards.simulate_case(tenant_id=t.id, case=case)
    assert result["plan"] == {"name": "三级分销", "version": 1}
    assert result["totals"]["by_member_fen"] == {"D": 3000, "C": 2000, "B": 1000}


def level_plan(allow_downgrade: bool = False) -> dict[str, Any]:
    return {"name": "代理", "distribution": {"tiers": [
        {"key": "normal", "name": "普通推广员", "rates": ["30%", "20%", "10%"]},
        {"key": "gold", "name": "金牌", "rates": ["50%", "30%", "20%"],
         "upgrade": {"fact": "direct_referrals", "min": 2}}]},
        "agents": {"mode": "difference", "allow_downgrade": allow_downgrade, "levels": [
            {"key": "l3", "name": "三级代理", "rate": "5%",
             "referral_bonus_fen": {"lower": 0, "peer": 800, "over": 500},
             "upgrade": {"fact": "own_sales_fen", "min": 100000}},
            {"key": "l2", "name": "二级代理", "rate": "7%",
             "referral_bonus_fen": {"lower": 1000, "peer": 1500, "over": 900},
             "upgrade": {"fact": "direct_referrals", "min": 2, "min_level": "l3"}},
            {"key": "l1", "name": "一级代理", "rate": "10%",
             "referral_bonus_fen": {"lower": 3000, "peer": 2000, "over": 0}}]}}


def fresh(m: Any) -> Member:
    return db.session.get(Member, m.id, populate_existing=True)


def test_upgrades_promote_from_real_referral_counts_and_pay_the_parent_once(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    root = factory.member(t)
    a = factory.member(t, parent=root)
    kids = [factory.member(t, parent=a) for _ in range(2)]
    activate(rewards, t, level_plan())
    with unit_of_work():
        rewards.set_member_level(tenant_id=t.id, member_id=root.id, agent_level="l1", actor="boss")
        for kid in kids:
            rewards.set_member_level(tenant_id=t.id, member_id=kid.id, agent_level="l3", actor="boss")
    facts = rewards.referral_counts(tenant_id=t.id, member_ids=[a.id])
    assert (facts[a.id].direct_referrals, dict(facts[a.id].direct_referrals_by_level)) == (2, {"l3": 2})
    with unit_of_work():
        decisions = rewards.apply_upgrades(tenant_id=t.id, facts=list(facts.values()))
    assert [(d.member_id, d.level_from, d.level_to, d.tier_to) for d in decisions] == [(a.id, None, "l2", "gold")]
    assert (fresh(a).agent_level, fresh(a).promoter_tier) == ("l2", "gold")
    bonus = db.session.scalars(select(Payout).where(Payout.source_type == "referral",
                                                    Payout.beneficiary_id == root.id)).all()
    assert [(p.kind, p.amount_fen) for p in bonus] == [("referral_lower", 3000)]
    with unit_of_work():
        assert rewards.apply_upgrades(tenant_id=t.id, facts=list(facts.values())) == []
    assert db.session.scalar(select(func.count()).select_from(Payout).where(
        Payout.source_type == "referral", Payout.beneficiary_id == root.id)) == 1
    changes = rewards.level_history(tenant_id=t.id, member_id=a.id)
    assert {(c.field, c.new_value, c.source) for c in changes} == {("agent_level", "l2", "auto"),
                                                                    ("promoter_tier", "gold", "auto")}


def test_a_manually_set_level_is_audited_and_never_lowered_automatically(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    trainer = factory.member(t)
    activate(rewards, t, level_plan(allow_downgrade=True))
    with unit_of_work():
        rewards.set_member_level(tenant_id=t.id, member_id=trainer.id, agent_level="l1", actor="staff:1")
    with unit_of_work():
        assert rewards.apply_upgrades(tenant_id=t.id, facts=[MemberFacts(trainer.id)]) == []
    assert fresh(trainer).agent_level == "l1"
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "rewards.set_level"))
    assert (entry.actor, entry.before["agent_level"], entry.after["agent_level"]) == ("staff:1", None, "l1")


def test_an_automatic_level_falls_only_when_the_plan_allows_it(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    m = factory.member(t)
    activate(rewards, t, level_plan(allow_downgrade=True))
    with unit_of_work():
        rewards.apply_upgrades(tenant_id=t.id, facts=[MemberFacts(m.id, own_sales_fen=100000)])
    assert fresh(m).agent_level == "l3"
    with unit_of_work():
        rewards.apply_upgrades(tenant_id=t.id, facts=[MemberFacts(m.id, own_sales_fen=0)])
    assert fresh(m).agent_level is None


def test_setting_a_level_the_plan_does_not_have_is_refused(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    m = factory.member(t)
    activate(rewards, t, level_plan())
    with pytest.raises(UnknownLevel), unit_of_work():
        rewards.set_member_level(tenant_id=t.id, member_id=m.id, agent_level="l9", actor="boss")
    assert fresh(m).agent_level is None
    assert db.session.scalar(select(func.count()).select_from(LevelChange)) == 0


def test_a_peer_referral_bonus_is_paid_when_a_downline_rises_to_the_parents_level(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    a = factory.member(t)
    b = factory.member(t, parent=a)
    activate(rewards, t, level_plan())
    with unit_of_work():
        rewards.set_member_level(tenant_id=t.id, member_id=a.id, agent_level="l2", actor="boss")
        rewards.set_member_level(tenant_id=t.id, member_id=b.id, agent_level="l2", actor="boss")
    assert rewards.payout_totals(tenant_id=t.id, member_id=a.id) == {"referral_peer": 1500}


def test_a_periods_team_bonuses_are_recorded_once(factory: Any, rewards: Any) -> None:
    t = factory.tenant()
    a = factory.member(t)
    b = factory.member(t, parent=a)
    plan = level_plan()
    plan["agents"]["team_performance"] = {"paid_to": "every", "tiers": [{"min_sales_fen": 100000, "rate": "2%"}]}
    activate(rewards, t, plan)
    teams = [AgentTeam(a.id, "l1", 500000), AgentTeam(b.id, "l2", 200000, upline_agent_id=a.id)]
    with unit_of_work():
        first = rewards.record_team_performance(tenant_id=t.id, period="2026-10", teams=teams)
    with unit_of_work():
        again = rewards.record_team_performance(tenant_id=t.id, period="2026-10", teams=teams)
    assert [(p.beneficiary_id, p.amount_fen) for p in first] == [(b.id, 4000), (a.id, 6000)]
    assert [p.id for p in again] == [p.id for p in first]
