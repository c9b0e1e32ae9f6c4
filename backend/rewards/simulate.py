"""The simulator: a plan and a case (members with parents, tiers, levels; an order) → the
payout lines with their explanations, as JSON.

    python -m backend.rewards.simulate CASE.json [--plan PLAN.json] [--compact]

The case format is documented in docs/plans.md; examples live in docs/examples/.
Pure apart from reading the files named on the command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.errors import DomainError
from backend.money import rate_text, yuan
from backend.rewards.engine import (
    AgentTeam,
    Buyer,
    ChainMember,
    LinePayouts,
    OrderLine,
    PayoutKind,
    PayoutLine,
    compute_payouts,
    referral_bonuses,
    team_performance_bonuses,
)
from backend.rewards.errors import InvalidCase, InvalidPlan
from backend.rewards.plan import Plan, parse_plan

PROMOTER_STATES = ("active", "frozen", "none")
# Bounds of one case (the API and the CLI alike): every step below is linear in them.
MAX_CASE_MEMBERS = 20000
MAX_CASE_LINES = 200


@dataclass(frozen=True, slots=True)
class CaseMember:
    member_id: Any
    parent_id: Any | None = None
    promoter: str = "active"  # active | frozen | none
    tier: str | None = None
    agent_level: str | None = None

    def as_chain_member(self) -> ChainMember:
        return ChainMember(member_id=self.member_id, promoter_active=self.promoter == "active",
                           tier=self.tier, agent_level=self.agent_level)


@dataclass(frozen=True, slots=True)
class LevelChange:
    member_id: Any
    old_level: str | None
    new_level: str


@dataclass(frozen=True, slots=True)
class Case:
    plan: Plan
    members: Mapping[Any, CaseMember]
    buyer_id: Any | None = None
    lines: tuple[OrderLine, ...] = ()
    level_changes: tuple[LevelChange, ...] = ()
    period: str | None = None
    team_sales_fen: Mapping[Any, int] | None = None


def upline(members: Mapping[Any, CaseMember], member_id: Any) -> list[ChainMember]:
    """The member's upline, nearest first, as the engine wants it."""
    chain: list[ChainMember] = []
    seen = {member_id}
    parent = members[member_id].parent_id
    while parent is not None:
        if parent in seen:
            raise InvalidCase([{"field": "members", "message": f"上下级关系出现循环：{parent}"}])
        seen.add(parent)
        node = members[parent]
        chain.append(node.as_chain_member())
        parent = node.parent_id
    return chain


def _member_id(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, str)) and value != ""


def _fen(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= 0


def parse_case(document: Any, *, base_dir: Path | None = None, plan: Plan | None = None) -> Case:
    """Validate a case document; `plan` replaces the case's own plan when given.

    A plan given as a file name is read relative to base_dir, and only when base_dir
    is given (the CLI); the API passes none, so a request never names a server file.
    """
    errors: list[dict[str, str]] = []

    def err(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if not isinstance(document, dict):
        raise InvalidCase([{"field": "", "message": "用例须为 JSON 对象"}])
    known = {"plan", "members", "order", "level_changes", "team_performance", "description"}
    for key in sorted(set(document) - known):
        err(key, f"未知字段：{key}")

    if plan is None:
        raw_plan = document.get("plan")
        if isinstance(raw_plan, str) and base_dir is None:
            raise InvalidCase([{"field": "plan", "message": "须为方案对象（此处不读取方案文件）"}])
        if isinstance(raw_plan, str) and base_dir is not None:
            plan_file = base_dir / raw_plan
            try:
                raw_plan = json.loads(plan_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InvalidCase([{"field": "plan", "message": f"无法读取方案文件 {raw_plan}：{exc}"}]) from exc
        if raw_plan is None:
            err("plan", "必填（方案对象或方案文件路径）")
        else:
            try:
                plan = parse_plan(raw_plan)
            except InvalidPlan as exc:
                errors.extend({"field": f"plan.{e['field']}".rstrip("."), "message": e["message"]}
                              for e in exc.errors)

    members: dict[Any, CaseMember] = {}
    raw_members = document.get("members")
    if not isinstance(raw_members, list) or not raw_members:
        err("members", "须为非空数组")
        raw_members = []
    elif len(raw_members) > MAX_CASE_MEMBERS:
        raise InvalidCase([{"field": "members", "message": f"最多 {MAX_CASE_MEMBERS} 个会员"}])
    for i, m in enumerate(raw_members):
        path = f"members[{i}]"
        if not isinstance(m, dict):
            err(path, "须为对象")
            continue
        for key in sorted(set(m) - {"id", "parent", "promoter", "tier", "level", "name"}):
            err(f"{path}.{key}", f"未知字段：{key}")
        mid = m.get("id")
        if not _member_id(mid):
            err(f"{path}.id", "须为会员编号（整数或字符串）")
            continue
        if mid in members:
            err(f"{path}.id", f"重复的会员：{mid}")
            continue
        promoter = m.get("promoter", "active")
        if promoter is True:
            promoter = "active"
        elif promoter is False:
            promoter = "none"
        if promoter not in PROMOTER_STATES:
            err(f"{path}.promoter", "须为 active / frozen / none（或 true / false）")
            promoter = "none"
        tier, level = m.get("tier"), m.get("level")
        if plan is not None and tier is not None and tier not in plan.tier_by_key:
            err(f"{path}.tier", f"方案中没有推广员等级：{tier!r}")
        if plan is not None and level is not None and level not in plan.level_by_key:
            err(f"{path}.level", f"方案中没有代理等级：{level!r}")
        members[mid] = CaseMember(member_id=mid, parent_id=m.get("parent"), promoter=promoter,
                                  tier=tier, agent_level=level)
    for i, m in enumerate(raw_members):
        if isinstance(m, dict) and m.get("parent") is not None and m["parent"] not in members:
            err(f"members[{i}].parent", f"上级不在 members 中：{m['parent']!r}")
    if not errors:
        looped = _first_cycle(members)  # every chain must end: no member is its own ancestor
        if looped is not None:
            err("members", f"上下级关系出现循环，涉及会员 {looped}")

    buyer_id: Any | None = None
    lines: list[OrderLine] = []
    order = document.get("order")
    if order is not None:
        if not isinstance(order, dict):
            err("order", "须为对象")
        else:
            buyer_id = order.get("buyer")
            if buyer_id not in members:
                err("order.buyer", f"买家不在 members 中：{buyer_id!r}")
            raw_lines = order.get("lines")
            if not isinstance(raw_lines, list) or not raw_lines:
                err("order.lines", "须为非空数组")
                raw_lines = []
            elif len(raw_lines) > MAX_CASE_LINES:
                err("order.lines", f"最多 {MAX_CASE_LINES} 行")
                raw_lines = []
            seen_ids: set[Any] = set()
            for i, raw in enumerate(raw_lines):
                path = f"order.lines[{i}]"
                if not isinstance(raw, dict):
                    err(path, "须为对象")
                    continue
                allowed = {"id", "product_id", "sku_id", "quantity", "paid_fen", "cost_fen"}
                for key in sorted(set(raw) - allowed):
                    err(f"{path}.{key}", f"未知字段：{key}")
                line_id = raw.get("id", i + 1)
                if line_id in seen_ids:
                    err(f"{path}.id", f"重复的订单行：{line_id}")
                seen_ids.add(line_id)
                ok = True
                if not _member_id(raw.get("product_id")):
                    err(f"{path}.product_id", "必填（商品编号）")
                    ok = False
                quantity = raw.get("quantity", 1)
                if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                    err(f"{path}.quantity", "须为正整数")
                    ok = False
                for key in ("paid_fen", "cost_fen"):
                    if not _fen(raw.get(key, 0)):
                        err(f"{path}.{key}", "金额须为不小于 0 的整数（单位：分）")
                        ok = False
                if ok:
                    lines.append(OrderLine(order_line_id=line_id, product_id=raw["product_id"],
                                           sku_id=raw.get("sku_id"), quantity=quantity,
                                           paid_fen=raw.get("paid_fen", 0), cost_fen=raw.get("cost_fen", 0)))

    changes: list[LevelChange] = []
    raw_changes = document.get("level_changes", [])
    if not isinstance(raw_changes, list):
        err("level_changes", "须为数组")
        raw_changes = []
    elif len(raw_changes) > MAX_CASE_MEMBERS:
        err("level_changes", f"最多 {MAX_CASE_MEMBERS} 项")
        raw_changes = []
    for i, raw in enumerate(raw_changes):
        path = f"level_changes[{i}]"
        if not isinstance(raw, dict):
            err(path, "须为对象")
            continue
        mid, new = raw.get("member"), raw.get("to")
        if mid not in members:
            err(f"{path}.member", f"会员不在 members 中：{mid!r}")
        if not isinstance(new, str) or (plan is not None and new not in plan.level_by_key):
            err(f"{path}.to", f"方案中没有代理等级：{new!r}")
        old = raw.get("from", members[mid].agent_level if mid in members else None)
        if plan is not None and old is not None and old not in plan.level_by_key:
            err(f"{path}.from", f"方案中没有代理等级：{old!r}")
        if isinstance(new, str):
            changes.append(LevelChange(member_id=mid, old_level=old, new_level=new))

    period: str | None = None
    team_sales: dict[Any, int] | None = None
    raw_team = document.get("team_performance")
    if raw_team is not None:
        if not isinstance(raw_team, dict):
            err("team_performance", "须为对象：{\"period\": ..., \"sales_fen\": {会员: 金额}}")
        else:
            period = raw_team.get("period")
            if not isinstance(period, str) or not period:
                err("team_performance.period", "须为非空字符串，如 \"2024-05\"")
            sales = raw_team.get("sales_fen")
            if not isinstance(sales, dict) or not sales:
                err("team_performance.sales_fen", "须为对象：{会员编号: 团队业绩（分）}")
                sales = {}
            elif len(sales) > MAX_CASE_MEMBERS:
                err("team_performance.sales_fen", f"最多 {MAX_CASE_MEMBERS} 个会员")
                sales = {}
            team_sales = {}
            by_text = {str(k): k for k in members}
            for key, value in sales.items():
                mid = by_text.get(str(key))
                if mid is None:
                    err(f"team_performance.sales_fen.{key}", "会员不在 members 中")
                    continue
                if not _fen(value):
                    err(f"team_performance.sales_fen.{key}", "金额须为不小于 0 的整数（单位：分）")
                    continue
                team_sales[mid] = value

    if order is None and not changes and raw_team is None:
        err("order", "须至少提供 order、level_changes 或 team_performance 之一")
    if errors or plan is None:
        raise InvalidCase(errors)
    return Case(plan=plan, members=members, buyer_id=buyer_id, lines=tuple(lines),
                level_changes=tuple(changes), period=period, team_sales_fen=team_sales)


def payout_json(line: PayoutLine) -> dict[str, Any]:
    """A payout line as JSON: amounts in fen plus a yuan string, rate as a percentage."""
    return {
        "beneficiary": line.beneficiary_id,
        "kind": line.kind.value,
        "base": line.base.value,
        "base_fen": line.base_fen,
        "rate": None if line.rate is None else rate_text(line.rate),
        "nominal_fen": line.nominal_fen,
        "amount_fen": line.amount_fen,
        "amount": yuan(line.amount_fen),
        "withheld": None if line.withheld is None else line.withheld.value,
        "level": line.level,
        "agent_level": line.agent_level,
        "plan_version": line.plan_version,
        "explanation": line.explanation,
    }


def line_payouts_json(result: LinePayouts) -> dict[str, Any]:
    return {
        "order_line_id": result.order_line_id,
        "paid_fen": result.paid_fen,
        "profit_fen": result.profit_fen,
        "pool_fen": result.pool_fen,
        "paid_out_fen": result.paid_out_fen,
        "merchant_fen": result.merchant_fen,
        "payouts": [payout_json(p) for p in result.lines],
    }


def _upline_agents(members: Mapping[Any, CaseMember]) -> dict[Any, Any | None]:
    """Each member's nearest agent above it, for every member in one pass: a member's
    answer is its parent if an agent, else its parent's answer (each settled once)."""
    nearest: dict[Any, Any | None] = {}
    for start in members:
        path = []
        node = start
        while node is not None and node not in nearest:
            path.append(node)
            node = members[node].parent_id
        answer = None
        if node is not None:  # settled: it is the agent, or its answer is
            answer = node if members[node].agent_level is not None else nearest[node]
        for mid in reversed(path):  # nearest the settled ancestor first
            nearest[mid] = answer
            if members[mid].agent_level is not None:
                answer = mid
    return nearest


def _first_cycle(members: Mapping[Any, CaseMember]) -> Any | None:
    """A member on a parent cycle, or None; each member is walked once (linear)."""
    state: dict[Any, int] = {}  # 1: on the current walk, 2: its chain ends
    for start in members:
        walk = []
        node = start
        while node is not None and node not in state:
            state[node] = 1
            walk.append(node)
            node = members[node].parent_id
        if node is not None and state[node] == 1:
            return node
        for mid in walk:
            state[mid] = 2
    return None


def run_case(case: Case) -> dict[str, Any]:
    """Compute everything the case asks for and return it as a JSON-ready dict."""
    plan, members = case.plan, case.members
    all_lines: list[PayoutLine] = []
    out: dict[str, Any] = {"plan": {"name": plan.name, "version": plan.version}}
    if case.buyer_id is not None:
        b = members[case.buyer_id]
        buyer = Buyer(member_id=b.member_id, is_promoter=b.promoter == "active", tier=b.tier,
                      agent_level=b.agent_level)
        chain = upline(members, case.buyer_id)
        results = [compute_payouts(plan, chain=chain, buyer=buyer, line=line) for line in case.lines]
        out["order_lines"] = [line_payouts_json(r) for r in results]
        for r in results:
            all_lines.extend(r.lines)
    if case.level_changes:
        referral: list[PayoutLine] = []
        for change in case.level_changes:
            parent_id = members[change.member_id].parent_id
            parent = members[parent_id].as_chain_member() if parent_id is not None else None
            referral.extend(referral_bonuses(plan, member_id=change.member_id, old_level=change.old_level,
                                             new_level=change.new_level, parent=parent))
        out["referral_bonuses"] = [payout_json(p) for p in referral]
        all_lines.extend(referral)
    if case.team_sales_fen is not None and case.period is not None:
        agents_above = _upline_agents(members)
        teams = [AgentTeam(member_id=mid, agent_level=members[mid].agent_level, team_sales_fen=sales,
                           upline_agent_id=agents_above[mid],
                           promoter_active=members[mid].promoter == "active")
                 for mid, sales in case.team_sales_fen.items()]
        team = team_performance_bonuses(plan, period=case.period, teams=teams)
        out["team_performance"] = [payout_json(p) for p in team]
        all_lines.extend(team)
    by_member: dict[str, int] = {}
    for p in all_lines:
        if p.kind is not PayoutKind.MERCHANT_REMAINDER and p.amount_fen:
            key = str(p.beneficiary_id)
            by_member[key] = by_member.get(key, 0) + p.amount_fen
    out["totals"] = {
        "by_member_fen": by_member,
        "paid_out_fen": sum(by_member.values()),
        "merchant_fen": sum(p.amount_fen for p in all_lines if p.kind is PayoutKind.MERCHANT_REMAINDER),
    }
    return out


def simulate_document(document: Any, *, base_dir: Path | None = None,
                      plan: Plan | None = None) -> dict[str, Any]:
    """Validate a case document and run it (what the API endpoint and the CLI call)."""
    return run_case(parse_case(document, base_dir=base_dir, plan=plan))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.rewards.simulate",
                                     description="Print the payouts a plan gives for a case, as JSON.")
    parser.add_argument("case", type=Path, help="case file (JSON), see docs/plans.md")
    parser.add_argument("--plan", type=Path, help="plan file (JSON) replacing the case's own plan")
    parser.add_argument("--compact", action="store_true", help="one line of JSON instead of indented")
    args = parser.parse_args(argv)
    try:
        try:
            document = json.loads(args.case.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidCase([{"field": "", "message": f"无法读取用例文件：{exc}"}]) from exc
        plan = None
        if args.plan is not None:
            try:
                raw_plan = json.loads(args.plan.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InvalidPlan([{"field": "", "message": f"无法读取方案文件：{exc}"}]) from exc
            plan = parse_plan(raw_plan)
        result = simulate_document(document, base_dir=args.case.parent, plan=plan)
    except DomainError as exc:
        print(json.dumps(exc.to_dict(), ensure_ascii=False, indent=2), file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=None if args.compact else 2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
