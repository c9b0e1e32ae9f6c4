"""The agent channel end to end over HTTP on MariaDB: cloud-warehouse transfers and
restocks per second against one INSERT per request in the same run, then scans and
certificate verifications under load with millions of codes in the table.

    ./dev bench warehouse                           # defaults below (10M codes)
    ./dev bench warehouse --codes 0                 # postings only
    ./dev bench warehouse --reuse                   # keep the database a previous run built

A real HTTP server (gunicorn, gthread workers) serves the product's app plus the
payments benchmark's baseline endpoint (`/bench/baseline`: one unit of work doing one
INSERT, same routing and commit). With --followup worker (the default) the server runs
PAID_FOLLOWUP=worker and a second process runs the paid-order follow-up job, as
`./dev bench payments` does; a restock phase ends only when that backlog is empty.

Timed, in --rounds interleaved rounds (a busy neighbour weighs on all alike; each rate
is the median of its rounds):
- baseline: POST /bench/baseline;
- transfer: POST /api/v1/mp/agent/transfers (an l1 agent → one of its ten l3 downlines,
  one sender per client connection, no confirmation): one pieces posting each;
- restock: POST /api/v1/mp/agent/restocks (from the upline, at the l2 price) with
  "pay": "stored", placed and paid from stored value in one request (--restock-requests 2:
  placed, then POST …/restocks/<id>/pay-stored on the same connection); the phase
  ends when the follow-up (rewards by the plan, pieces into the buyer's cloud stock,
  the upline settled, the order delivered) has run for every one. Two pieces postings
  per restock (set aside, in).

Then, with --codes > 0: the codes are generated inside MariaDB (INSERT … SELECT over
the sequence engine, 80 bits of RANDOM_BYTES per code as 20 hex digits, the unique index
built after the load; kept between runs), and one mixed load runs: scans of random
codes (POST /api/v1/public/scan/<code>, a quarter on codes shipped to an agent, with a
province), certificate verifications (GET /api/v1/public/certificates/<serial>) and
baseline inserts, interleaved at random; each kind's p95 is compared to the baseline's
p95 under that same load.

Every run ends with `flask warehouse check` (printed) and the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_payments import (  # noqa: E402
    SECRET,
    Backlog,
    CpuMeter,
    Job,
    load,
    pct,
    prepare_database,
    run_jobs,
    wait_up,
)

OUT = Path(__file__).parent / "out"
SLUG = "benchwh"
# 80 bits from the server's CSPRNG as 20 hex digits (all valid code characters). Not RAND():
# MariaDB's RAND() is a small linear generator, and 10M codes built from it collide.
RANDOM_CODE = "HEX(RANDOM_BYTES(10))"
PLAN = {"name": "bench", "agents": {"mode": "difference", "base": "paid", "levels": [
    {"key": "l3", "name": "三级代理", "rate": "5%"}, {"key": "l2", "name": "二级代理", "rate": "7%"},
    {"key": "l1", "name": "一级代理", "rate": "10%"}]}}

def wsgi_app() -> Any:
    """gunicorn factory: the payments benchmark's (product app + /bench/baseline)."""
    from benchmarks.bench_payments import wsgi_app as payments_app

    return payments_app()


# ---------------------------------------------------------------- setup


def build(app: Any, *, senders_n: int) -> dict[str, Any]:
    """Tenant, plan with three agent levels, one product; per sender (l1): ten l3
    downlines and one l2 buyer with plenty of stored value; member tokens."""
    from backend.auth.tokens import issue_token
    from backend.catalog import service as catalog
    from backend.db import unit_of_work, utcnow
    from backend.flows import agent_channel as flow
    from backend.ledger import service as money
    from backend.ledger.models import AccountKind as K
    from backend.members.service import bind_member, upsert_member
    from backend.rewards import service as rewards
    from backend.tenants.service import create_tenant
    from backend.warehouse import ledger

    now = utcnow()
    with app.app_context():
        with unit_of_work():
            t = create_tenant(slug=SLUG, name="云仓压测", actor="bench")
            row = rewards.save_plan_version(tenant_id=t.id, document=PLAN, actor="bench")
            rewards.activate_plan(tenant_id=t.id, version=row.version, actor="bench", now=now)
            p = catalog.create_product(
                tenant_id=t.id, name="明前龙井", on_shelf=True, actor="bench", known_levels=None, skus=[
                    catalog.SkuSpec(name="250g", price_fen=10000, cost_fen=3000, stock=10_000_000,
                                    level_prices={"l1": 5000, "l2": 6000, "l3": 7000})])
            sku_id = catalog.skus_of(tenant_id=t.id, product_ids=[p.id])[p.id][0].id
            tid, product_id = t.id, p.id
        senders, downlines, buyers = [], [], []
        for w in range(senders_n):
            with unit_of_work():
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
        with app.test_request_context():
            tokens = {str(m): issue_token(kind="member", tenant_id=tid, subject_id=m)
                      for m in senders + buyers}
    return {"tenant_id": tid, "sku_id": sku_id, "product_id": product_id, "senders": senders,
            "downlines": downlines, "buyers": buyers, "tokens": tokens}


def load_codes(url: str, fx: dict[str, Any], wanted: int) -> dict[str, Any]:
    """Make sure the table holds `wanted` generated codes besides a 1,000-code batch
    shipped to the first sender (kept between runs); a sample to scan."""
    from sqlalchemy import create_engine, text

    from backend.anticounterfeit import service as ac
    from backend.app import create_app
    from backend.config import load_settings
    from backend.db import unit_of_work, utcnow

    if "shipped_batch" not in fx:
        app = create_app(load_settings({"DATABASE_URL": url, "SECRET_KEY": SECRET}))
        now = utcnow()
        from backend.agents import service as agents

        with app.app_context(), unit_of_work():
            tid = fx["tenant_id"]
            b = ac.create_batch(tenant_id=tid, product_id=fx["product_id"], product_name="明前龙井", size=1000,
                                label="bench", actor="bench", now=now)
            ac.assign(tenant_id=tid, agent_id=fx["senders"][0], batch_id=b.id, seq_from=1, seq_to=1000, note="",
                      actor="bench", now=now)
            bulk = ac.create_batch(tenant_id=tid, product_id=fx["product_id"], product_name="明前龙井", size=1,
                                   label="bulk", actor="bench", now=now)
            fx["shipped_batch"], fx["bulk_batch"] = b.id, bulk.id
            fx["certificate"] = agents.certificates_of(tenant_id=tid, member_id=fx["senders"][0])[0].serial
    engine = create_engine(url)
    with engine.begin() as c:
        loaded = int(c.execute(text(f"SELECT COALESCE(MAX(seq), 0) FROM ac_codes WHERE batch_id = {fx['bulk_batch']}"))
                     .scalar() or 0)
    if loaded < wanted:
        t0 = time.perf_counter()
        with engine.begin() as c:
            c.execute(text("ALTER TABLE ac_codes DROP INDEX uq_ac_codes_code"))
        while loaded < wanted:
            n = min(1_000_000, wanted - loaded)
            with engine.begin() as c:
                c.execute(text(
                    f"INSERT INTO ac_codes (tenant_id, batch_id, seq, code, scan_count) "
                    f"SELECT {fx['tenant_id']}, {fx['bulk_batch']}, {loaded + 1} + seq, {RANDOM_CODE}, 0 "
                    f"FROM seq_0_to_{n - 1}"))
            loaded += n
            print(f"  loaded {loaded:,} codes ({time.perf_counter() - t0:.0f} s, load {load()})", flush=True)
        t1 = time.perf_counter()
        with engine.begin() as c:
            c.execute(text("ALTER TABLE ac_codes ADD CONSTRAINT uq_ac_codes_code UNIQUE (code)"))
        print(f"codes loaded in {t1 - t0:.0f} s, unique index {time.perf_counter() - t1:.0f} s", flush=True)
    with engine.begin() as c:
        total = int(c.execute(text("SELECT COUNT(*) FROM ac_codes")).scalar() or 0)
        seqs = ", ".join(str(random.randint(2, max(loaded, 2))) for _ in range(5000))
        sample = [r[0] for r in c.execute(text(
            f"SELECT code FROM ac_codes WHERE batch_id = {fx['bulk_batch']} AND seq IN ({seqs})"))]
        shipped = [r[0] for r in c.execute(text(f"SELECT code FROM ac_codes WHERE batch_id = {fx['shipped_batch']}"))]
        size = c.execute(text("SELECT ROUND((data_length + index_length) / 1048576) FROM information_schema.tables "
                              "WHERE table_schema = DATABASE() AND table_name = 'ac_codes'")).scalar()
    engine.dispose()
    return {"total": total, "sample": sample, "shipped": shipped, "table_mb": int(size or 0)}


def fixture(url: str, reuse: bool, senders_n: int) -> dict[str, Any]:
    """The setup, built once and kept in the database (`bench_fixture`) for --reuse."""
    from sqlalchemy import create_engine, text

    from backend.migrate import upgrade

    if reuse:
        engine = create_engine(url)
        try:
            with engine.begin() as c:
                row = c.execute(text("SELECT doc FROM bench_fixture WHERE id = 1")).first()
            if row is not None:
                upgrade(url)  # a newer migration since the last run
                fx = json.loads(row[0])
                if len(fx["senders"]) >= senders_n:
                    print("reusing the database of a previous run", flush=True)
                    return fx
        except Exception as exc:  # noqa: BLE001 - no such database or table: build it
            print(f"no reusable fixture ({type(exc).__name__}); building", flush=True)
        finally:
            engine.dispose()
    url = prepare_database(url)  # recreated, migrated, with the baseline's table
    from backend.app import create_app
    from backend.config import load_settings

    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE bench_fixture (id INT PRIMARY KEY, doc LONGTEXT NOT NULL)"))
    app = create_app(load_settings({"DATABASE_URL": url, "SECRET_KEY": SECRET}))
    fx = build(app, senders_n=senders_n)
    with engine.begin() as c:
        c.execute(text("INSERT INTO bench_fixture (id, doc) VALUES (1, :d)"), {"d": json.dumps(fx)})
    engine.dispose()
    return fx


def save_fixture(url: str, fx: dict[str, Any]) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("UPDATE bench_fixture SET doc = :d WHERE id = 1"), {"d": json.dumps(fx)})
    engine.dispose()


# ---------------------------------------------------------------- the measures


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/siyu_bench_warehouse")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    ap.add_argument("--port", type=int, default=5089)
    ap.add_argument("--reuse", action="store_true", help="keep the database (and codes) of a previous run")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--threads", type=int, default=6)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--senders", type=int, default=16, help="l1 agents (each with ten downlines and one buyer)")
    ap.add_argument("--requests", type=int, default=600, help="baseline requests and transfers per round")
    ap.add_argument("--restocks", type=int, default=300, help="restocks per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--codes", type=int, default=10_000_000)
    ap.add_argument("--scans", type=int, default=2000, help="requests of the mixed scan load")
    ap.add_argument("--followup", choices=("worker", "inline"), default="worker")
    ap.add_argument("--restock-requests", type=int, choices=(1, 2), default=1,
                    help='1: placed and paid in one request ("pay": "stored"); 2: placed, then /pay-stored')
    ap.add_argument("--only", choices=("postings", "scans", "all"), default="all")
    args = ap.parse_args()

    url = args.mysql
    t0 = time.perf_counter()
    fx = fixture(url, args.reuse, args.senders)
    print(f"setup {time.perf_counter() - t0:.0f} s (load {load()})", flush=True)
    codes = None
    if args.codes > 0 and args.only != "postings":
        codes = load_codes(url, fx, args.codes)
        save_fixture(url, fx)

    server = f"http://127.0.0.1:{args.port}"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis, "SECRET_KEY": SECRET,
           "PAID_FOLLOWUP": args.followup, "WECHAT_MODE": "sandbox", "PUBLIC_BASE_URL": server,
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    gunicorn = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", str(args.workers), "-k", "gthread",
         "--threads", str(args.threads), "-b", f"127.0.0.1:{args.port}", "--log-level", "warning",
         "benchmarks.bench_warehouse:wsgi_app()"], cwd=str(ROOT), env=env)
    followup = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "backend.jobs", "--only", "orders.follow_up_paid_orders"],
        cwd=str(ROOT), env=env) if args.followup == "worker" else None
    backlog = Backlog(url)
    sku, run_id = fx["sku_id"], f"{int(time.time())}"
    auth = {str(m): {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
            for m, tok in fx["tokens"].items()}
    n_senders = args.senders

    def baseline_jobs(n: int) -> list[Job]:
        def job(s: Any) -> list[int]:
            return [s.post(f"{server}/bench/baseline", data=b"{}", timeout=60).status_code]
        return [job] * n

    def transfer_jobs(n: int, tag: str) -> list[Job]:
        jobs = []
        for i in range(n):
            w = i % n_senders
            body = json.dumps({"to_member_id": fx["downlines"][w][(i // n_senders) % 10], "sku_id": sku,
                               "pieces": 1, "client_token": f"b{run_id}{tag}x{i}"}).encode()
            head = auth[str(fx["senders"][w])]

            def job(s: Any, body: bytes = body, head: dict[str, str] = head) -> list[int]:
                return [s.post(f"{server}/api/v1/mp/agent/transfers", data=body, headers=head,
                               timeout=60).status_code]
            jobs.append(job)
        return jobs

    def restock_jobs(n: int) -> list[Job]:
        jobs = []
        one = args.restock_requests == 1
        body = json.dumps({"items": [{"sku_id": sku, "quantity": 2}], "source": "upline",
                           **({"pay": "stored"} if one else {})}).encode()
        for i in range(n):
            head = auth[str(fx["buyers"][i % n_senders])]

            def job(s: Any, head: dict[str, str] = head) -> list[int]:
                r = s.post(f"{server}/api/v1/mp/agent/restocks", data=body, headers=head, timeout=60)
                if r.status_code != 201 or one:
                    return [r.status_code]
                p = s.post(f"{server}/api/v1/mp/agent/restocks/{r.json()['id']}/pay-stored", data=b"{}",
                           headers=head, timeout=60)
                return [r.status_code, p.status_code]
            jobs.append(job)
        return jobs

    def restocks_end_to_end(jobs: list[Job]) -> dict[str, Any]:
        start = time.perf_counter()
        res = run_jobs(jobs, args.concurrency)
        drained = backlog.wait_empty()
        elapsed = time.perf_counter() - start
        res.update(accepted_per_second=res["per_second"], drain_after_last_answer_s=round(drained, 3),
                   seconds=round(elapsed, 3), per_second=round(len(jobs) / elapsed, 1))
        return res

    results: dict[str, Any] = {"workers": args.workers, "threads": args.threads, "concurrency": args.concurrency,
                               "followup": args.followup, "cpus": os.cpu_count()}
    try:
        wait_up(server, 300)  # a busy machine starts gunicorn slowly
        meter = CpuMeter(gunicorn.pid, followup.pid if followup else None)
        run_jobs(baseline_jobs(200), args.concurrency)  # warm every worker
        if args.only != "scans":
            run_jobs(transfer_jobs(64, "warm"), args.concurrency)
            restocks_end_to_end(restock_jobs(32))
        if args.only in ("postings", "all"):
            rounds: dict[str, list[dict[str, Any]]] = {"baseline": [], "transfer": [], "restock": []}
            for r in range(args.rounds):
                rounds["baseline"].append(meter.measure(run_jobs, baseline_jobs(args.requests), args.concurrency))
                rounds["transfer"].append(meter.measure(run_jobs, transfer_jobs(args.requests, f"r{r}"),
                                                        args.concurrency))
                rounds["restock"].append(meter.measure(restocks_end_to_end, restock_jobs(args.restocks)))
                print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]['per_second']}/s ({v[-1]['statuses']}, "
                                                     f"load {v[-1]['load']})" for k, v in rounds.items()), flush=True)
            summary = {}
            for k, v in rounds.items():
                lat = [x for one in v for x in one.pop("_lat")]
                summary[k] = {"per_second_median": statistics.median(o["per_second"] for o in v),
                              "p50_ms": round(pct(lat, 50) * 1000, 1), "p95_ms": round(pct(lat, 95) * 1000, 1),
                              "rounds": v}
            base = summary["baseline"]["per_second_median"]
            summary["transfer"]["postings_per_second"] = summary["transfer"]["per_second_median"]
            summary["restock"]["postings_per_second"] = summary["restock"]["per_second_median"] * 2
            for k in ("transfer", "restock"):
                summary[k]["ratio_vs_baseline"] = round(summary[k]["postings_per_second"] / base, 3)
            summary["restock"]["restocks_ratio_vs_baseline"] = round(
                summary["restock"]["per_second_median"] / base, 3)
            results["postings"] = summary
        if codes is not None:
            provinces = ["浙江省", "江苏省", "上海市", "广东省"]
            rnd = random.Random(7)
            kinds: list[str] = []
            jobs: list[Job] = []
            for _ in range(args.scans):
                kind = rnd.choice(("scan", "scan", "verify", "baseline"))
                kinds.append(kind)
                if kind == "scan":
                    code = rnd.choice(codes["shipped"] if rnd.random() < 0.25 else codes["sample"])
                    body = json.dumps({"province": rnd.choice(provinces)}, ensure_ascii=False).encode()

                    def job(s: Any, code: str = code, body: bytes = body) -> list[int]:
                        return [s.post(f"{server}/api/v1/public/scan/{code}", data=body,
                                       headers={"Content-Type": "application/json"}, timeout=60).status_code]
                elif kind == "verify":
                    def job(s: Any) -> list[int]:
                        return [s.get(f"{server}/api/v1/public/certificates/{fx['certificate']}",
                                      timeout=60).status_code]
                else:
                    job = baseline_jobs(1)[0]
                jobs.append(job)
            mixed = meter.measure(run_jobs, jobs, args.concurrency)
            lat = mixed.pop("_lat")
            by_kind = {k: [x for x, kk in zip(lat, kinds, strict=True) if kk == k]
                       for k in ("baseline", "scan", "verify")}
            base_p95 = pct(by_kind["baseline"], 95)
            results["scans"] = {
                "codes_in_table": codes["total"], "ac_codes_mb": codes["table_mb"], "mixed": mixed,
                **{k: {"requests": len(v), "p50_ms": round(pct(v, 50) * 1000, 1),
                       "p95_ms": round(pct(v, 95) * 1000, 1),
                       "p95_vs_baseline": round(pct(v, 95) / base_p95, 2) if base_p95 else None}
                   for k, v in by_kind.items()}}
    finally:
        procs = [p for p in (gunicorn, followup) if p is not None]
        for proc in procs:  # all told to stop before waiting on any: none is left behind
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=180)  # a loaded machine stops gunicorn slowly
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        backlog.engine.dispose()

    check = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "miniprogram_api:create_web_app",
                            "warehouse", "check", "--tenant", SLUG], cwd=str(ROOT), env=env,
                           capture_output=True, text=True)
    results["warehouse_check"] = (check.stdout + check.stderr).strip()
    results["load_after"] = load()
    OUT.mkdir(exist_ok=True)
    (OUT / "warehouse.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if "postings" in results:
        p = results["postings"]
        print(f"\nbaseline {p['baseline']['per_second_median']}/s (p95 {p['baseline']['p95_ms']} ms)   "
              f"transfers {p['transfer']['per_second_median']}/s → {p['transfer']['ratio_vs_baseline']}×   "
              f"restocks {p['restock']['per_second_median']}/s = {p['restock']['postings_per_second']} postings/s "
              f"→ {p['restock']['ratio_vs_baseline']}× (restocks {p['restock']['restocks_ratio_vs_baseline']}×)")
    if "scans" in results:
        s = results["scans"]
        print(f"{s['codes_in_table']:,} codes ({s['ac_codes_mb']} MB): p95 baseline {s['baseline']['p95_ms']} ms, "
              f"scan {s['scan']['p95_ms']} ms ({s['scan']['p95_vs_baseline']}×), "
              f"verify {s['verify']['p95_ms']} ms ({s['verify']['p95_vs_baseline']}×)")
    print(f"warehouse check: {results['warehouse_check']}   load {results['load_after']}")
    if check.returncode:
        raise SystemExit("warehouse check failed")


if __name__ == "__main__":
    main()
