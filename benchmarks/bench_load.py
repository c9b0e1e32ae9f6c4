"""A load test at millions of members, from a second process (locust), with p95s.

    ./dev bench load                         # 3,000,000 members, 60 s per phase, 24 users
    ./dev bench load --reuse                 # keep the database if it already holds --n members
    ./dev bench load --n 100000 --seconds 20 # a quick look

Setup (not timed): the database `siyu_bench_load` gets a tenant whose mini-program the
WeChat sandbox knows, `--n` members in the realistic forest of benchmarks/treegen.py
(3% roots, long chains, a few huge teams, depth ≤ 30, counters and paths filled in),
and 20 products on the shelf. Tokens are minted for 2,000 random members, the 20
largest teams and the 20 deepest members.

Then a real server (gunicorn, gthread workers, MariaDB, Redis, the sandbox) and locust
in its own process, headless, `--users` closed-loop users, three phases of
`--seconds` each: the baseline (GET /healthz), the mixed audience of
benchmarks/load_locustfile.py (team summary, team pages, upline, product list,
wx.login, binding by invite code), the baseline again. Printed: requests/s, p50, p95
and p99 per request kind, and each kind's p95 against the baseline's p95 under the same
users. Checks afterwards: no request failed, every login that went on to bind has
exactly one parent, and the promoters' level-1 counters equal their children.
"""

from __future__ import annotations

import argparse
import csv
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

from benchmarks.bench_payments import free_port, prepare_database, wait_up  # noqa: E402
from benchmarks.treegen import grow_forest, insert_forest  # noqa: E402

OUT = Path(__file__).parent / "out"
SLUG = "benchload"
SECRET = "bench-load-secret-0123456789abcdef"


def build_or_reuse(url: str, n: int, reuse: bool) -> None:
    """The tenant, its members and products; kept when --reuse finds them already there."""
    from sqlalchemy import create_engine, text

    from backend.migrate import upgrade

    if reuse:
        engine = create_engine(url)
        try:
            with engine.connect() as c:
                have = c.execute(text("SELECT COUNT(*) FROM members m JOIN tenants t ON t.id = m.tenant_id "
                                      "WHERE t.slug = :s AND m.openid LIKE 'bench-%'"), {"s": SLUG}).scalar()
        except Exception:  # noqa: BLE001  (no database or no tables yet: build it)
            have = 0
        finally:
            engine.dispose()
        if have == n:
            upgrade(url)  # migrations that landed since keep the kept database current
            print(f"reusing {url.rsplit('/', 1)[-1]}: {n:,} members")
            return
    prepare_database(url)  # recreated, migrated, with the baseline's table
    from backend.app import create_app
    from backend.catalog import service as catalog
    from backend.config import load_settings
    from backend.db import unit_of_work
    from backend.extensions import db
    from backend.flows import catalog as catalog_flow
    from backend.tenants.service import create_tenant
    from backend.wechat.demo import demo_credentials

    app = create_app(load_settings({"DATABASE_URL": url, "SECRET_KEY": SECRET}))  # the server's key
    with app.app_context():
        with unit_of_work():
            creds = demo_credentials(SLUG, pay_notify_url=f"http://127.0.0.1/api/v1/pay/notify/{SLUG}")
            tenant = create_tenant(slug=SLUG, name="压测品牌", credentials=creds.to_flat(), actor="bench")
            tid = tenant.id
            for i in range(20):
                catalog_flow.create_product(tenant_id=tid, name=f"商品{i}", on_shelf=True, actor="bench", skus=[
                    catalog.SkuSpec(name="标准", price_fen=1000 + i, cost_fen=500, stock=1_000_000)])
        db.session.rollback()
        first = int(db.session.execute(text("SELECT COALESCE(MAX(id), 0) + 1 FROM members")).scalar() or 1)
        db.session.rollback()
        insert_forest(db.engine, tenant_id=tid, forest=grow_forest(n), first_id=first)
        db.session.remove()


def load_data(url: str, path: Path) -> dict[str, Any]:
    """Tokens for sampled members, the biggest teams and the deepest members, and the
    invite codes new people bind with, for the locust users."""
    from sqlalchemy import create_engine, text

    from backend.auth.tokens import issue_token

    rng = random.Random(5)
    engine = create_engine(url)
    with engine.connect() as c:
        tid = c.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": SLUG}).scalar()
        lo, hi = c.execute(text("SELECT MIN(id), MAX(id) FROM members WHERE tenant_id = :t"), {"t": tid}).one()
        sample = sorted({rng.randint(lo, hi) for _ in range(2000)})
        rows = c.execute(text("SELECT id, token_version FROM members WHERE tenant_id = :t AND id IN "
                              f"({', '.join(str(i) for i in sample)})"), {"t": tid}).all()
        big = c.execute(text("SELECT id, token_version FROM members WHERE tenant_id = :t "
                             "ORDER BY team_total DESC LIMIT 20"), {"t": tid}).all()
        deep = c.execute(text("SELECT id, token_version FROM members WHERE tenant_id = :t "
                              "ORDER BY depth DESC LIMIT 20"), {"t": tid}).all()
        promoters = c.execute(text("SELECT id, invite_code FROM members WHERE tenant_id = :t AND id IN "
                                   f"({', '.join(str(r.id) for r in rows[:200])})"), {"t": tid}).all()
    engine.dispose()

    def tokens(rs: Any) -> list[str]:
        return [issue_token(kind="member", tenant_id=tid, subject_id=r.id, version=r.token_version) for r in rs]

    data = {"tenant": SLUG, "tenant_id": tid, "tokens": tokens(rows), "big_tokens": tokens(big),
            "deep_tokens": tokens(deep), "invite_codes": [p.invite_code for p in promoters],
            "promoter_ids": [p.id for p in promoters]}
    path.write_text(json.dumps(data), encoding="utf-8")
    return data


def run_locust(server: str, phase: str, data_path: Path, *, users: int, seconds: int) -> dict[str, dict[str, Any]]:
    """One headless locust run in its own process; its per-request-kind stats."""
    prefix = OUT / f"load_{phase}"
    env = {**os.environ, "LOAD_DATA": str(data_path), "LOAD_PHASE": phase}
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "locust"), "-f", str(ROOT / "benchmarks" / "load_locustfile.py"),
         "--headless", "--host", server, "-u", str(users), "-r", str(max(1, users // 2)),
         "-t", f"{seconds}s", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
         "--exit-code-on-error", "0"], cwd=str(ROOT), env=env, check=True,
        stdout=open(f"{prefix}.log", "w"), stderr=subprocess.STDOUT)  # its own table: the log
    out: dict[str, dict[str, Any]] = {}
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["Name"] == "Aggregated":
                continue
            out[row["Name"]] = {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                                "per_second": round(float(row["Requests/s"]), 1),
                                "p50_ms": float(row["50%"]), "p95_ms": float(row["95%"]),
                                "p99_ms": float(row["99%"])}
    return out


def verify(url: str, data: dict[str, Any]) -> dict[str, Any]:
    """Every member a login created and bound has one parent; level-1 counters of the
    promoters they bound under equal their children."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as c:
        t = data["tenant_id"]
        new = c.execute(text("SELECT COUNT(*), SUM(parent_id IS NOT NULL) FROM members WHERE tenant_id = :t "
                             "AND openid NOT LIKE 'bench-%'"), {"t": t}).one()
        bindings = c.execute(text("SELECT COUNT(*) - COUNT(DISTINCT member_id) FROM member_bindings "
                                  "WHERE tenant_id = :t"), {"t": t}).scalar()
        wrong = 0
        for pid in data["promoter_ids"]:
            # The row's counter plus the deltas the fold job has not folded in yet.
            l1, children = c.execute(text(
                "SELECT team_l1 + COALESCE((SELECT SUM(l1) FROM member_team_deltas WHERE member_id = :i), 0),"
                " (SELECT COUNT(*) FROM members WHERE parent_id = :i) FROM members WHERE id = :i"), {"i": pid}).one()
            wrong += int(l1 != children)
    engine.dispose()
    return {"new_members": int(new[0]), "new_members_bound": int(new[1] or 0),
            "members_bound_twice": int(bindings or 0), "promoters_with_wrong_l1": wrong,
            "ok": wrong == 0 and not bindings}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3_000_000)
    ap.add_argument("--reuse", action="store_true", help="keep the database if it holds --n members")
    ap.add_argument("--build-only", action="store_true", help="make the database, then stop")
    ap.add_argument("--users", type=int, default=24)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--threads", type=int, default=6)
    ap.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/siyu_bench_load")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)

    from backend.config import load_settings
    from backend.wechat.sandbox import start_sandbox
    from backend.wechat.service import credentials

    url = args.mysql if "charset=" in args.mysql else args.mysql + ("&" if "?" in args.mysql else "?") + "charset=utf8mb4"
    t0 = time.perf_counter()
    build_or_reuse(url, args.n, args.reuse)
    if args.build_only:
        return
    data_path = OUT / "load_data.json"

    sandbox = start_sandbox(port=0)
    port = free_port()
    server = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis, "SECRET_KEY": SECRET,
           "WECHAT_MODE": "sandbox", "WECHAT_SANDBOX_URL": sandbox.url, "PUBLIC_BASE_URL": server,
           # One client address makes every login here: lift the per-address login limit.
           "RATE_LIMITS": "mp_login_ip=1000000/minute",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    from miniprogram_api import create_web_app

    app = create_web_app(load_settings(env))
    with app.app_context():  # tokens are signed with the server's key
        data = load_data(url, data_path)
        sandbox.register_tenant(credentials(tenant_id=data["tenant_id"]), oa_push_url=f"{server}/oa/{SLUG}")
    gunicorn = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", str(args.workers), "-k", "gthread",
         "--threads", str(args.threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "benchmarks.bench_payments:wsgi_app()"], cwd=str(ROOT), env=env)
    setup_s = round(time.perf_counter() - t0, 1)
    try:
        wait_up(server)
        run_locust(server, "baseline", data_path, users=args.users, seconds=5)  # warm every worker
        load1 = os.getloadavg()[0]
        base1 = run_locust(server, "baseline", data_path, users=args.users, seconds=args.seconds)
        mixed = run_locust(server, "mixed", data_path, users=args.users, seconds=args.seconds)
        base2 = run_locust(server, "baseline", data_path, users=args.users, seconds=args.seconds)
        load2 = os.getloadavg()[0]
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
        sandbox.stop()

    key = "baseline: /healthz"
    base_p95 = statistics.mean([base1[key]["p95_ms"], base2[key]["p95_ms"]])
    base_rate = statistics.mean([base1[key]["per_second"], base2[key]["per_second"]])
    for stats in mixed.values():
        stats["p95_vs_baseline"] = round(stats["p95_ms"] / base_p95, 2) if base_p95 else None
    checks = verify(url, data)
    results = {"members": args.n, "setup_seconds": setup_s, "users": args.users, "seconds": args.seconds,
               "gunicorn": f"{args.workers}×{args.threads} gthread", "cpus": os.cpu_count(),
               "load_average": [round(load1, 1), round(load2, 1)],
               "baseline_first": base1[key], "baseline_second": base2[key],
               "baseline_p95_ms": round(base_p95, 1), "baseline_per_second": round(base_rate, 1),
               "mixed": mixed, "mixed_per_second": round(sum(s["per_second"] for s in mixed.values()), 1),
               "failures": sum(s["failures"] for s in mixed.values()), "checks": checks}
    (OUT / "load.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\n{args.n:,} members · {args.users} users · {args.seconds} s per phase · "
          f"load average {load1:.1f}→{load2:.1f} on {os.cpu_count()} cores")
    print(f"baseline GET /healthz: {base_rate:.0f}/s, p95 {base_p95:.0f} ms (mean of the runs before and after)")
    print(f"{'request':28} {'per s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'p95 ×base':>9} {'failed':>6}")
    for name, s in sorted(mixed.items()):
        print(f"{name:28} {s['per_second']:7.1f} {s['p50_ms']:7.0f} {s['p95_ms']:7.0f} {s['p99_ms']:7.0f} "
              f"{s['p95_vs_baseline']:9.2f} {s['failures']:6d}")
    print("checks:", json.dumps(checks, ensure_ascii=False))
    if not checks["ok"] or results["failures"]:
        raise SystemExit("load test: checks failed (see above)")


if __name__ == "__main__":
    main()
