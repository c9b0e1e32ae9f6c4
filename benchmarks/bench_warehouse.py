"""The agent channel on MariaDB: cloud-warehouse postings end to end, and anti-counterfeit
scans / certificate verification with millions of codes in the table.

    ./dev bench warehouse                        # defaults below
    ./dev bench warehouse --codes 10000000       # the 10M table (set-based load)
    ./dev bench warehouse --codes 0              # postings only

Threads of one process (each its own app context and connection, started at once):

- baseline: one unit of work with one INSERT into a scratch table;
- pieces posting: `warehouse.ledger.post` alone (a 2-leg transfer between two agents);
- transfer: `flows.agent_channel.transfer` end to end — both authorizations checked
  (active, in force, the product), the downline checked, the transfer row, the posting;
- restock: `place_restock` (order at the level price, the upline's pieces set aside) +
  paying it from stored value (one unit of work), then the paid-order follow-up
  (rewards by the plan, frozen postings, the pieces posted into the cloud, the money
  settled, the order delivered) in its own, right after the commit; both timed. Two
  pieces postings per restock (hold, in).

Then, when --codes > 0: the codes are generated inside MariaDB (INSERT … SELECT over the
sequence engine, 80 bits from RANDOM_BYTES per code as 20 hex digits, the unique index built after the
load), and concurrent scans of random codes (`anticounterfeit.scan`: lookup by the
unique code, counter update, scan row, region check) and certificate verifications run
against it; p50/p95 against the baseline insert's latency in the same run.

The database `siyu_bench_warehouse` is dropped and recreated.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_ledger import build_app, fresh_database, pct, run_threads  # noqa: E402

# 80 bits from the server's CSPRNG as 20 hex digits (all valid code characters). Not RAND():
# MariaDB's RAND() is a small linear generator, and 10M codes built from it collide.
RANDOM_CODE = "HEX(RANDOM_BYTES(10))"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/siyu_bench_warehouse")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--ops", type=int, default=150, help="units of work per thread and measure")
    ap.add_argument("--codes", type=int, default=10_000_000)
    ap.add_argument("--scans", type=int, default=250, help="scans per thread")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the posting measures")
    ap.add_argument("--max-load-seconds", type=float, default=None,
                    help="stop loading codes after this long (whole chunks) and measure the size reached")
    args = ap.parse_args()

    fresh_database(args.mysql)
    app = build_app(args.mysql)

    from sqlalchemy import text

    from backend.agents import service as agents
    from backend.anticounterfeit import service as ac
    from backend.catalog import service as catalog
    from backend.db import unit_of_work, utcnow
    from backend.extensions import db
    from backend.flows import agent_channel as flow
    from backend.ledger import service as money
    from backend.ledger.models import AccountKind as K
    from backend.members.service import bind_member, upsert_member
    from backend.rewards import service as rewards
    from backend.tenants.service import create_tenant
    from backend.warehouse import ledger

    threads, ops = args.threads, args.ops
    now = utcnow()
    plan = {"name": "bench", "agents": {"mode": "difference", "base": "paid", "levels": [
        {"key": "l3", "name": "三级代理", "rate": "5%"}, {"key": "l2", "name": "二级代理", "rate": "7%"},
        {"key": "l1", "name": "一级代理", "rate": "10%"}]}}
    with app.app_context(), unit_of_work():
        t = create_tenant(slug="benchwh", name="云仓压测", actor="bench")
        row = rewards.save_plan_version(tenant_id=t.id, document=plan, actor="bench")
        rewards.activate_plan(tenant_id=t.id, version=row.version, actor="bench", now=now)
        p = catalog.create_product(tenant_id=t.id, name="明前龙井", on_shelf=True, actor="bench", known_levels=None, skus=[
            catalog.SkuSpec(name="250g", price_fen=10000, cost_fen=3000, stock=10_000_000,
                            level_prices={"l1": 5000, "l2": 6000, "l3": 7000})])
        sku_id = catalog.skus_of(tenant_id=t.id, product_ids=[p.id])[p.id][0].id
        product_id = p.id
        tid = t.id
    # Per thread: a sender (l1) with ten downline agents (l3), and a restocking agent (l2)
    # under the sender with plenty of stored value.
    senders: list[int] = []
    downlines: list[list[int]] = []
    buyers: list[int] = []
    with app.app_context(), unit_of_work():
        for w in range(threads):
            s = upsert_member(tenant_id=tid, openid=f"s{w}", now=now)
            flow.authorize(tenant_id=tid, member_id=s.id, level="l1", actor="bench", now=now)
            ds = []
            for i in range(10):
                d = upsert_member(tenant_id=tid, openid=f"d{w}-{i}", now=now)
                bind_member(tenant_id=tid, member_id=d.id, parent_id=s.id, source="share", scene=None, now=now)
                flow.authorize(tenant_id=tid, member_id=d.id, level="l3", actor="bench", now=now)
                ds.append(d.id)
            b = upsert_member(tenant_id=tid, openid=f"b{w}", now=now)
            bind_member(tenant_id=tid, member_id=b.id, parent_id=s.id, source="share", scene=None, now=now)
            flow.authorize(tenant_id=tid, member_id=b.id, level="l2", actor="bench", now=now)
            money.post(tenant_id=tid, key=f"bench:sv:{b.id}", kind="recharge", now=now, legs=[
                money.Leg(money.system(K.WECHAT_CLEARING), -10**12),
                money.Leg(money.member(K.MEMBER_STORED, b.id), 10**12)])
            ledger.post(tenant_id=tid, key=f"bench:issue:{s.id}", kind="adjust", now=now, legs=[
                ledger.Leg(ledger.SUPPLY, sku_id, -10**9), ledger.Leg(ledger.agent(s.id), sku_id, 10**9)])
            senders.append(s.id)
            downlines.append(ds)
            buyers.append(b.id)

    # The measures run interleaved, in --rounds rounds, so that a busy neighbour on the
    # machine weighs on the baseline and on the postings alike; each rate is the median
    # of its rounds, latencies pooled.
    restock_ops = max(ops // 3, 10)

    def restock(w: int, i: int) -> None:
        # placed and paid in one unit of work; the follow-up (rewards, pieces in, money
        # settled) runs in its own right after the commit (PAID_FOLLOWUP=inline), timed too
        r, _ = flow.place_restock(tenant_id=tid, member_id=buyers[w], items=[(sku_id, 2)], source="upline",
                                  now=utcnow())
        flow.pay_restock_with_stored_value(tenant_id=tid, member_id=buyers[w], restock_id=r.id, now=utcnow())

    measures: list[tuple[str, Any, int, int]] = [
        ("baseline: one INSERT per unit of work", lambda w, i: db.session.execute(
            text("INSERT INTO bench_baseline (v, created_at) VALUES (:v, NOW(6))"), {"v": i}), 1, ops),
        ("pieces posting (ledger.post, 2 legs)", lambda w, i: ledger.post(
            tenant_id=tid, key=f"raw:{w}:{i}:{time.time_ns()}", kind="transfer", now=utcnow(), legs=[
                ledger.Leg(ledger.agent(senders[w]), sku_id, -1),
                ledger.Leg(ledger.agent(downlines[w][i % 10]), sku_id, 1)]), 1, ops),
        ("transfer end to end (flows.transfer)", lambda w, i: flow.transfer(
            tenant_id=tid, from_id=senders[w], to_id=downlines[w][i % 10], sku_id=sku_id, pieces=1,
            client_token=f"bench-{w}-{i:06d}-{time.time_ns()}", now=utcnow()), 1, ops),
        ("restock end to end (place + pay + follow-up)", restock, 2, restock_ops),
    ]
    rates: dict[str, list[float]] = {m[0]: [] for m in measures}
    lats: dict[str, list[float]] = {m[0]: [] for m in measures}
    for _ in range(args.rounds):
        for name, op, _postings, n in measures:
            wall, lat = run_threads(app, threads, max(n // args.rounds, 5), op)
            rates[name].append(threads * max(n // args.rounds, 5) / wall)
            lats[name].extend(lat)
    results = [(name, statistics.median(rates[name]), lats[name], postings) for name, _, postings, _ in measures]

    base = results[0][1]
    print(f"\nthreads={threads}  ops/thread={ops} (restock {restock_ops}) in {args.rounds} interleaved rounds, "
          "median rate\n")
    print(f"{'measure':50} {'per s':>9} {'postings/s':>11} {'p50 ms':>8} {'p95 ms':>8} {'vs baseline':>11}")
    for name, rate, lat, postings in results:
        print(f"{name:50} {rate:9.1f} {rate * postings:11.1f} {pct(lat, 50):8.2f} {pct(lat, 95):8.2f} "
              f"{rate * postings / base:10.2f}x")
    with app.app_context():
        report = ledger.check(tenant_id=tid)
        assert report.ok, report
        print(f"\npieces ledger check: OK ({report.balances} balances, {report.postings} postings)")
        db.session.rollback()

    if args.codes <= 0:
        return
    # ---------------------------------------------------------------- 10M codes
    with app.app_context(), unit_of_work():
        b = ac.create_batch(tenant_id=tid, product_id=product_id, product_name="明前龙井", size=1000, label="bench",
                            actor="bench", now=now)
        ac.assign(tenant_id=tid, agent_id=senders[0], batch_id=b.id, seq_from=1, seq_to=1000, note="", actor="bench",
                  now=now)
        bulk_batch = ac.create_batch(tenant_id=tid, product_id=product_id, product_name="明前龙井", size=1,
                                     label="bulk", actor="bench", now=now)
        bulk_id, shipped_batch = bulk_batch.id, b.id
        cert = agents.certificates_of(tenant_id=tid, member_id=senders[0])[0].serial
    t0 = time.perf_counter()
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE ac_codes DROP INDEX uq_ac_codes_code"))
        chunk = 1_000_000
        loaded = 0
        while loaded < args.codes and (args.max_load_seconds is None
                                       or time.perf_counter() - t0 < args.max_load_seconds):
            n = min(chunk, args.codes - loaded)
            with db.engine.begin() as conn:
                conn.execute(text(
                    f"INSERT INTO ac_codes (tenant_id, batch_id, seq, code, scan_count) "
                    f"SELECT {tid}, {bulk_id}, {loaded + 1} + seq, {RANDOM_CODE}, 0 "
                    f"FROM seq_0_to_{n - 1}"))
            loaded += n
            print(f"  loaded {loaded:,} codes ({time.perf_counter() - t0:.0f} s)", flush=True)
        t1 = time.perf_counter()
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE ac_codes ADD CONSTRAINT uq_ac_codes_code UNIQUE (code)"))
            total = conn.execute(text("SELECT COUNT(*) FROM ac_codes")).scalar()
            sample = [r[0] for r in conn.execute(text(
                f"SELECT code FROM ac_codes WHERE batch_id = {bulk_id} AND seq IN "
                f"({', '.join(str(random.randint(2, loaded)) for _ in range(2000))})"))]
            shipped = [r[0] for r in conn.execute(text(f"SELECT code FROM ac_codes WHERE batch_id = {shipped_batch}"))]
        print(f"codes in the table: {total:,} (load {t1 - t0:.0f} s, unique index {time.perf_counter() - t1:.0f} s)")
    provinces = ["浙江省", "江苏省", "上海市", "广东省"]

    def scan(w: int, i: int) -> None:
        pool = shipped if i % 4 == 0 else sample
        ac.scan(code=random.choice(pool), now=utcnow(), province=random.choice(provinces), city=None)

    def verify(w: int, i: int) -> None:
        agents.verify_certificate(serial=cert, now=utcnow())

    ops = args.scans
    scan_rows = []
    for name, op in [("baseline: one INSERT per unit of work", lambda w, i: db.session.execute(
            text("INSERT INTO bench_baseline (v, created_at) VALUES (:v, NOW(6))"), {"v": i})),
                     ("scan (anticounterfeit.scan)", scan), ("certificate verification", verify)]:
        wall, lat = run_threads(app, threads, ops, op)
        scan_rows.append((name, threads * ops / wall, lat))
    base_p95 = pct(scan_rows[0][2], 95)
    print(f"\n{total:,} codes, threads={threads}, {ops} per thread (a quarter of the scans on shipped codes)\n")
    print(f"{'measure':40} {'per s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p95 vs baseline':>16}")
    for name, rate, lat in scan_rows:
        print(f"{name:40} {rate:9.1f} {pct(lat, 50):8.2f} {pct(lat, 95):8.2f} {pct(lat, 95) / base_p95:15.2f}x")



if __name__ == "__main__":
    main()
