"""Rewards engine speed on one core: order lines per second for a 3+3 plan over a chain
of depth 30, and upgrade evaluation for 100,000 members, each against a baseline
measured in the same run.

  lines     compute_payouts for a 3+3 plan (four promoter tiers × three levels of
            distribution, three agent levels with peer and over-level bonuses, profit
            cap) over 200 different depth-30 chains (random tiers, levels, 10% frozen)
            and random order lines; every payout line carries its Chinese explanation.
            Baseline: the bare loop computing one flat rate per line
            (apply_rate(profit, 30%)), the floor any engine pays.
  upgrades  decide_upgrade (agent level + promoter tier) for 100,000 members with
            random facts against the three_plus_three example's AND/OR trees.
            Baseline: one threshold comparison per member.

Usage: python benchmarks/bench_rewards.py [--lines 20000] [--members 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.money import apply_rate  # noqa: E402
from backend.rewards.conditions import MemberFacts, decide_upgrade  # noqa: E402
from backend.rewards.engine import Buyer, ChainMember, OrderLine, compute_payouts  # noqa: E402
from backend.rewards.plan import Plan, parse_plan  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "three_plus_three.json"


def plan_for(mode: str) -> Plan:
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))["plan"]
    doc["agents"]["mode"] = mode
    return parse_plan(doc, version=1)


def chains(plan: Plan, rng: random.Random, n: int, depth: int) -> list[list[ChainMember]]:
    tiers = list(plan.tier_by_key)
    levels: list[str | None] = [None, None, None, *plan.level_by_key]  # half the members hold a level
    return [[ChainMember(member_id=c * 100 + i, promoter_active=rng.random() > 0.1,
                         tier=rng.choice(tiers), agent_level=rng.choice(levels)) for i in range(depth)]
            for c in range(n)]


def order_lines(rng: random.Random, n: int) -> list[OrderLine]:
    out = []
    for i in range(n):
        paid = rng.randrange(100, 500000)
        out.append(OrderLine(order_line_id=i, product_id=rng.choice(["tea", "wine", "gift-box"]),
                             quantity=rng.randrange(1, 4), paid_fen=paid, cost_fen=rng.randrange(0, paid)))
    return out


def best_of(repeat: int, fn: Callable[[], int]) -> tuple[float, int]:
    """Best wall time of `repeat` runs (the least disturbed by the shared machine)."""
    best = float("inf")
    produced = 0
    for _ in range(repeat):
        start = time.perf_counter()
        produced = fn()
        best = min(best, time.perf_counter() - start)
    return best, produced


def bench_lines(n: int, repeat: int, depth: int) -> list[tuple[str, float, str]]:
    rng = random.Random(7)
    lines = order_lines(rng, n)
    buyer = Buyer("fan")
    rate = Decimal("0.3")

    def baseline() -> int:
        total = 0
        for line in lines:
            total += apply_rate(line.profit_fen, rate)
        return len(lines)

    rows: list[tuple[str, float, str]] = []
    base_t, _ = best_of(repeat, baseline)
    rows.append(("baseline: one flat rate per line", n / base_t, "1.00×"))
    for mode in ("fixed", "difference"):
        plan = plan_for(mode)
        chain_set = chains(plan, rng, 200, depth)
        payouts = 0

        def engine(plan: Plan = plan, chain_set: list[list[ChainMember]] = chain_set) -> int:
            count = 0
            for i, line in enumerate(lines):
                count += len(compute_payouts(plan, chain=chain_set[i % 200], buyer=buyer, line=line).lines)
            return count

        t, payouts = best_of(repeat, engine)
        rows.append((f"3+3 {mode}, depth {depth} ({payouts / n:.1f} payout lines each)", n / t,
                     f"{t / base_t:.1f}×"))
    return rows


def random_facts(rng: random.Random, n: int, plan: Plan) -> list[MemberFacts]:
    levels = [None, *plan.level_by_key]
    tiers = [None, *plan.tier_by_key]
    out = []
    for i in range(n):
        direct = rng.randrange(0, 12)
        out.append(MemberFacts(
            member_id=i, agent_level=rng.choice(levels), tier=rng.choice(tiers),
            direct_referrals=direct, indirect_referrals=rng.randrange(0, 40),
            direct_referrals_by_level={"l3": rng.randrange(0, direct + 1), "l2": rng.randrange(0, 3)},
            indirect_referrals_by_level={"l2": rng.randrange(0, 15)},
            direct_referrals_by_tier={"silver": rng.randrange(0, 4)},
            own_sales_fen=rng.randrange(0, 1000000), direct_team_sales_fen=rng.randrange(0, 5000000),
            indirect_team_sales_fen=rng.randrange(0, 5000000), team_sales_fen=rng.randrange(0, 12000000),
            cumulative_recharge_fen=rng.randrange(0, 20000000), single_recharge_fen=rng.randrange(0, 2000000),
            product_pieces={"level-pack": rng.randrange(0, 2)} if rng.random() < 0.2 else {},
        ))
    return out


def bench_upgrades(n: int, repeat: int) -> list[tuple[str, float, str]]:
    plan = plan_for("fixed")
    facts = random_facts(random.Random(11), n, plan)

    def baseline() -> int:
        return sum(1 for f in facts if f.team_sales_fen >= 2000000)

    def evaluate() -> int:
        return sum(1 for f in facts if decide_upgrade(plan, f).changed)

    base_t, _ = best_of(repeat, baseline)
    t, changed = best_of(repeat, evaluate)
    return [
        ("baseline: one threshold per member", base_t, "1.00×"),
        (f"decide_upgrade, level + tier ({changed:,} of {n:,} change)", t, f"{t / base_t:.1f}×"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=20000)
    ap.add_argument("--members", type=int, default=100000)
    ap.add_argument("--depth", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    print(f"\nOrder lines, one core, {args.lines:,} lines, best of {args.repeat}")
    print("| measure | lines/s | µs/line | time vs baseline |")
    print("| --- | ---: | ---: | ---: |")
    for name, rate, ratio in bench_lines(args.lines, args.repeat, args.depth):
        print(f"| {name} | {rate:,.0f} | {1e6 / rate:.1f} | {ratio} |")

    print(f"\nUpgrade evaluation, one core, {args.members:,} members, best of {args.repeat}")
    print("| measure | seconds | µs/member | time vs baseline |")
    print("| --- | ---: | ---: | ---: |")
    for name, seconds, ratio in bench_upgrades(args.members, args.repeat):
        print(f"| {name} | {seconds:.3f} | {seconds / args.members * 1e6:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
