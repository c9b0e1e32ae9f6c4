"""The simulator on a long chain against the same number of members in a star.

A chain of n members (each the parent of the next) is the worst case of the old
per-member ancestor walks (quadratic); a star (every member under one root) is the
best case. With the linear cycle check and upline-agent lookup both take time in
proportion to n, so the chain/star ratio stays near 1 as n grows.

    .venv/bin/python benchmarks/bench_simulate.py [n ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.rewards.simulate import simulate_document  # noqa: E402

PLAN = {"name": "bench", "distribution": {"depth": 3, "base": "profit", "tiers": [
    {"key": "normal", "name": "普通推广员", "rates": ["30%", "20%", "10%"]}]},
    "agents": {"levels": [{"key": "l1", "name": "一级代理", "rate": "5%"}]}}


def _case(n: int, chain: bool) -> dict:
    members = [{"id": 0, "level": "l1"}] + [
        {"id": i, "parent": (i - 1) if chain else 0, **({"level": "l1"} if i % 100 == 0 else {})}
        for i in range(1, n)]
    return {"plan": PLAN, "members": members,
            "order": {"buyer": n - 1, "lines": [{"product_id": 1, "paid_fen": 10000, "cost_fen": 1000}]},
            "team_performance": {"period": "2026-12", "sales_fen": {str(i): 1000 for i in range(0, n, 100)}}}


def _best(case: dict, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        simulate_document(case)
        best = min(best, time.perf_counter() - start)
    return best


def main(sizes: list[int]) -> None:
    for n in sizes:
        chain, star = _best(_case(n, True)), _best(_case(n, False))
        print(f"n={n:>6}  chain {chain * 1000:8.1f} ms  star {star * 1000:8.1f} ms  "
              f"chain/star {chain / star:5.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [4000, 16000])
