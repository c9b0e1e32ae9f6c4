"""The ledger and finance hot paths on MariaDB, against one insert per unit of work.

    ./dev bench ledger                          # defaults below, MariaDB on 127.0.0.1:3306
    ./dev bench ledger --threads 4 --ops 400

Threads of one process, each with its own app context and connection, all started
at once (the database does the waiting, so the GIL is not what is measured):

- baseline: one unit of work with one INSERT into a scratch table;
- post: one 2-leg posting (merchant → one of 50 members' available balance);
- freeze: `finance.on_order_paid` for a one-line order whose six payout lines go up
  one depth-10 chain — every order hits the same seven accounts (the merchant, the
  clearing account and the chain's frozen balances), the worst case for hot rows —
  once with sharded balances (as shipped) and once with every account on one shard;
- withdraw: 50 members applying at once, then 50 withdrawals on ONE balance;
- settle: the settlement job over the frozen lines of the freeze runs;
- check: `check_ledger` rebuilding every balance of the tenant from its entries.

The database `siyu_bench_ledger` is dropped and recreated.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
_ids = count(1)


def fresh_database(url: str) -> None:
    from backend.migrate import recreate_mysql_database

    recreate_mysql_database(url)


def build_app(url: str) -> Any:
    from sqlalchemy import text

    from backend.app import create_app
    from backend.config import load_settings
    from backend.db import Base
    from backend.extensions import db

    app = create_app(load_settings({"DATABASE_URL": url, "SECRET_KEY": "bench"}))
    with app.app_context():
        Base.metadata.create_all(db.engine)
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE bench_baseline (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                              "v INT NOT NULL, created_at DATETIME(6) NOT NULL)"))
    return app


def run_threads(app: Any, threads: int, ops: int, op: Callable[[int, int], Any]) -> tuple[float, list[float]]:
    """`threads` workers each doing `ops` units of work; wall seconds and latencies (ms)."""
    from backend.db import run_in_unit_of_work
    from backend.extensions import db

    barrier = threading.Barrier(threads + 1)
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        mine = []
        with app.app_context():
            barrier.wait()
            try:
                for i in range(ops):
                    t = time.perf_counter()
                    run_in_unit_of_work(lambda i=i: op(w, i), retries=20)
                    mine.append((time.perf_counter() - t) * 1000)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    for th in pool:
        th.start()
    barrier.wait()
    start = time.perf_counter()
    for th in pool:
        th.join()
    wall = time.perf_counter() - start
    if errors:
        raise errors[0]
    return wall, latencies


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/siyu_bench_ledger")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--ops", type=int, default=300, help="units of work per thread and measure")
    args = ap.parse_args()

    fresh_database(args.mysql)
    app = build_app(args.mysql)

    from sqlalchemy import text

    from backend.db import run_in_unit_of_work, unit_of_work
    from backend.errors import DomainError
    from backend.extensions import db
    from backend.finance import service as finance
    from backend.finance import withdrawals as wd
    from backend.finance.jobs import settle_due_rewards
    from backend.ledger import models as ledger_models
    from backend.ledger import service as ledger
    from backend.ledger.models import AccountKind as K
    from backend.ledger.service import Leg, member, system
    from backend.members.service import bind_member, upsert_member
    from backend.tenants.service import create_tenant

    def tenant_with_members(slug: str, n: int, chain: int) -> tuple[int, list[int], list[int]]:
        with app.app_context(), unit_of_work():
            t = create_tenant(slug=slug, name=slug, actor="bench")
            ids = []
            for i in range(n):
                m = upsert_member(tenant_id=t.id, openid=f"{slug}-{i}", now=T0)
                if ids and i < chain:
                    bind_member(tenant_id=t.id, member_id=m.id, parent_id=ids[-1], source="share", scene=None,
                                now=T0)
                ids.append(m.id)
            return t.id, ids[:chain], ids

    tid, chain, everyone = tenant_with_members("benchledger", 120, 10)
    tid_flat, chain_flat, _ = tenant_with_members("benchflat", 10, 10)
    threads, ops = args.threads, args.ops
    rows: list[tuple[str, float, list[float]]] = []

    def measure(name: str, op: Callable[[int, int], Any], n_ops: int = ops) -> float:
        wall, lat = run_threads(app, threads, n_ops, op)
        rate = threads * n_ops / wall
        rows.append((name, rate, lat))
        print(f"  {name}: {rate:,.0f}/s p50 {pct(lat, 50):.1f} ms p95 {pct(lat, 95):.1f} ms", flush=True)
        return rate

    def baseline(w: int, i: int) -> None:
        db.session.execute(text("INSERT INTO bench_baseline (v, created_at) VALUES (:v, NOW(6))"), {"v": i})

    def post(w: int, i: int) -> None:
        target = everyone[20 + (w * ops + i) % 50]
        ledger.post(tenant_id=tid, key=f"bench:{w}:{i}", kind="bench", now=T0,
                    legs=[Leg(system(K.MERCHANT), -100), Leg(member(K.MEMBER_AVAILABLE, target), 100)])

    def freezer(tenant_id: int, up: list[int]) -> Callable[[int, int], Any]:
        def freeze(w: int, i: int) -> None:
            order_id, line_id = next(_ids), next(_ids)
            payouts = [SimpleNamespace(id=next(_ids), order_line_id=line_id, beneficiary_id=who, amount_fen=fen)
                       for who, fen in zip(up[-1:-7:-1], (3000, 2000, 1000, 700, 500, 300), strict=True)]
            finance.on_order_paid(tenant_id=tenant_id, order_id=order_id, paid_fen=15000, payouts=payouts, now=T0)
        return freeze

    print(f"MariaDB, {threads} threads × {ops} units of work each", flush=True)
    base = measure("baseline: one INSERT", baseline)
    measure("post: 2-leg posting", post)
    measure("freeze: order paid, 6 payouts up one chain (sharded)", freezer(tid, chain))
    shards = dict(ledger_models.SHARDS)
    ledger_models.SHARDS.update({k: 1 for k in shards})  # accounts created from now on have one shard
    try:
        measure("freeze: same, every account one shard", freezer(tid_flat, chain_flat))
    finally:
        ledger_models.SHARDS.update(shards)
    base_again = measure("baseline again", baseline)

    # withdrawals: 50 members at once, then 50 at once on one balance
    with app.app_context(), unit_of_work():
        for m in everyone[20:71]:
            finance.credit_bonuses(tenant_id=tid, now=T0, payouts=[
                SimpleNamespace(id=next(_ids), beneficiary_id=m, amount_fen=1_000_000, order_line_id=None)])
    outcomes: list[str] = []

    def apply_many(members_: list[int], amount: int) -> float:
        barrier = threading.Barrier(len(members_))

        def one(mid: int) -> None:
            with app.app_context():
                barrier.wait()
                try:
                    run_in_unit_of_work(lambda: wd.apply_withdrawal(tenant_id=tid, member_id=mid, amount_fen=amount,
                                                                    now=T0), retries=20)
                    outcomes.append("ok")
                except DomainError as exc:
                    outcomes.append(exc.code)
                finally:
                    db.session.remove()

        pool = [threading.Thread(target=one, args=(m,)) for m in members_]
        start = time.perf_counter()
        for th in pool:
            th.start()
        for th in pool:
            th.join()
        return time.perf_counter() - start

    spread = apply_many(everyone[20:70], 1000)
    outcomes_spread = list(outcomes)
    outcomes.clear()
    one_balance = apply_many([everyone[70]] * 50, 30_000)  # 1,000,000 covers 33 of them
    from collections import Counter

    print(f"  withdraw: 50 members at once {spread * 1000:.0f} ms ({dict(Counter(outcomes_spread))}); "
          f"50 on one balance {one_balance * 1000:.0f} ms ({outcomes.count('ok')} ok, "
          f"{outcomes.count('insufficient_balance')} insufficient_balance)", flush=True)

    # settlement of every frozen line of the sharded tenant
    with app.app_context():
        with unit_of_work():
            order_ids = [r[0] for r in db.session.execute(text(
                "SELECT DISTINCT order_id FROM finance_reward_accruals WHERE tenant_id = :t"), {"t": tid})]
            for o in order_ids:
                finance.on_order_completed(tenant_id=tid, order_id=o, completed_at=T0)
        start = time.perf_counter()
        settled = settle_due_rewards(now=T0 + timedelta(days=8))
        settle_s = time.perf_counter() - start
        print(f"  settle: {settled} order lines in {settle_s:.2f} s = {settled / settle_s:,.0f} lines/s", flush=True)
        start = time.perf_counter()
        with unit_of_work():
            report = ledger.check_ledger(tenant_id=tid)
        check_s = time.perf_counter() - start
        with unit_of_work():
            flat = ledger.check_ledger(tenant_id=tid_flat)
    print(f"  check: {report.entries:,} entries, {report.accounts} accounts in {check_s:.2f} s; "
          f"ok={report.ok and flat.ok}", flush=True)
    assert report.ok and flat.ok, (report.as_dict(), flat.as_dict())
    assert outcomes.count("ok") == 33

    b = statistics.mean([base, base_again])
    print("\n| measure | units/s | p50 ms | p95 ms | vs baseline |\n| --- | ---: | ---: | ---: | ---: |")
    for name, rate, lat in rows:
        print(f"| {name} | {rate:,.0f} | {pct(lat, 50):.1f} | {pct(lat, 95):.1f} | {rate / b:.2f}× |")


if __name__ == "__main__":
    main()
