"""The back-office's reads at 1M members: the dashboard (a period of daily facts plus
the live pending counts) and one level of the team tree, through the HTTP stack (Flask
test client, staff token), against the team summary (`GET /api/v1/mp/me/team/summary`,
one primary-key read of maintained counters) as the baseline in the same run. Also the
job's cost: refreshing one day's facts of the 1M-member tenant.

    ./dev bench dashboard                  # 1,000,000 members on MariaDB (127.0.0.1:3306)
    ./dev bench dashboard --sqlite --n 100000

The database `siyu_bench_dashboard` is dropped and recreated. Besides the big tenant,
`--tenants` other tenants get a year of facts each, so the fact table holds millions of
rows and the tenant's period is an index range, not the whole table.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_members import pct  # noqa: E402
from benchmarks.treegen import grow_forest, insert_forest  # noqa: E402

OUT = Path(__file__).parent / "out"
SOURCES = ("share", "invite_code", "staff_code", "oa_qrcode", "live_room", "shop", "manual")
KINDS = ("dist_l1", "dist_l2", "dist_l3", "agent_dividend", "peer_bonus", "over_level_bonus", "referral_lower",
         "team_performance")
FLOWS = ("orders", "sales_fen", "refunded_fen", "new_members", "frozen_fen", "settled_fen", "withdrawn_fen")


def fact_rows(tenant_id: int, days: list[date], rng: random.Random, now: object) -> list[tuple]:
    """A year of facts shaped like the job writes them: ~70 rows a day."""
    rows = []
    for d in days:
        rows += [(tenant_id, d, m, "", "", rng.randrange(1, 10**7), now) for m in FLOWS]
        rows += [(tenant_id, d, "bindings", s, "", rng.randrange(0, 3000), now) for s in SOURCES]
        rows += [(tenant_id, d, "commission_fen", k, "", rng.randrange(0, 10**6), now) for k in KINDS]
        rows += [(tenant_id, d, "top_product_fen", str(p), f"商品{p}", rng.randrange(1, 10**6), now)
                 for p in rng.sample(range(1, 500), 20)]
        rows += [(tenant_id, d, "top_promoter_fen", str(m), f"会员{m}", rng.randrange(1, 10**5), now)
                 for m in rng.sample(range(1, 10**6), 20)]
    rows.append((tenant_id, days[-1], "bound_total", "", "", rng.randrange(1, 10**6), now))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--tenants", type=int, default=100, help="other tenants with a year of facts")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/siyu_bench_dashboard")
    args = ap.parse_args()

    if args.sqlite:
        OUT.mkdir(exist_ok=True)
        db_path = OUT / "bench_dashboard.sqlite"
        db_path.unlink(missing_ok=True)
        url = f"sqlite:///{db_path}"
    else:
        from backend.migrate import recreate_mysql_database

        url = recreate_mysql_database(args.mysql)

    from backend.analytics import service as analytics
    from backend.auth.tokens import issue_token
    from backend.config import load_settings
    from backend.db import run_in_unit_of_work, unit_of_work, utcnow
    from backend.extensions import db
    from backend.migrate import upgrade
    from backend.staff.service import create_staff
    from backend.tenants.service import create_tenant
    from miniprogram_api import create_web_app

    upgrade(url)
    app = create_web_app(load_settings({"DATABASE_URL": url}))
    results: dict[str, object] = {"n": args.n, "database": "sqlite" if args.sqlite else "mariadb",
                                  "other_tenants": args.tenants}
    rng = random.Random(5)
    with app.app_context():
        with unit_of_work():
            tenant = create_tenant(slug="bench", name="压测品牌", actor="bench")
            boss = create_staff(tenant_id=tenant.id, username="bench-boss", password="bench-password-1",
                                display_name="老板", role="boss", actor="bench")
            others = [create_tenant(slug=f"other{k}", name=f"品牌{k}", actor="bench").id
                      for k in range(args.tenants)]
        tenant_id, boss_id = tenant.id, boss.id
        db.session.rollback()
        forest = grow_forest(args.n)
        ids = insert_forest(db.engine, tenant_id=tenant_id, forest=forest, first_id=1)
        db.session.rollback()

        today = analytics.china_day(utcnow())
        year = [today - timedelta(days=i) for i in range(364, -1, -1)]
        now = utcnow().replace(tzinfo=None)
        mark = "?" if db.engine.dialect.name == "sqlite" else "%s"
        sql = (f"INSERT INTO analytics_daily_facts (tenant_id, day, metric, dim, label, value, updated_at) "
               f"VALUES ({', '.join([mark] * 7)})")
        t0 = time.perf_counter()
        facts = 0
        for t in [tenant_id, *others]:
            rows = fact_rows(t, year, rng, now)
            with db.engine.begin() as conn:
                for s in range(0, len(rows), 5000):
                    conn.exec_driver_sql(sql, rows[s:s + 5000])
            facts += len(rows)
        results["facts_rows"] = facts
        results["facts_insert_s"] = round(time.perf_counter() - t0, 1)

        sizes = [0] * len(ids)
        for i in range(len(ids) - 1, -1, -1):
            if forest.parent[i] >= 0:
                sizes[forest.parent[i]] += sizes[i] + 1
        largest = sorted(range(len(ids)), key=lambda i: -sizes[i])[:20]
        results["largest_team"] = sizes[largest[0]]

        client = app.test_client()
        staff_h = {"Authorization": "Bearer " + issue_token(kind="staff", tenant_id=tenant_id,
                                                             subject_id=boss_id, role="boss")}

        def timed(path: str, headers: dict[str, str], reps: int) -> list[float]:
            out = []
            for _ in range(reps):
                db.session.remove()
                s = time.perf_counter()
                r = client.get(path, headers=headers)
                out.append((time.perf_counter() - s) * 1000)
                assert r.status_code == 200, (path, r.status_code, r.get_data(as_text=True)[:300])
            return out

        # Baseline: the team summary of the largest teams, same stack, same run.
        base_ms: list[float] = []
        for i in largest:
            member_h = {"Authorization": "Bearer " + issue_token(kind="member", tenant_id=tenant_id,
                                                                  subject_id=ids[i])}
            base_ms += timed("/api/v1/mp/me/team/summary", member_h, max(1, args.reps // len(largest)))
        d30 = timed(f"/api/v1/admin/dashboard?start={today - timedelta(days=29)}&end={today}", staff_h, args.reps)
        d365 = timed(f"/api/v1/admin/dashboard?start={year[0]}&end={today}", staff_h, max(20, args.reps // 4))
        tree_ms: list[float] = []
        for i in largest:
            tree_ms += timed(f"/api/v1/admin/members/{ids[i]}/children?limit=50", staff_h,
                             max(1, args.reps // len(largest)))
        body = client.get(f"/api/v1/admin/dashboard?start={today - timedelta(days=29)}&end={today}",
                          headers=staff_h).get_json()
        assert len(body["days"]) == 30 and len(body["top_promoters"]) == 10

        # The job's work for the big tenant: one day's facts recomputed (range counts and
        # sums, the bound-members count over 1M rows).
        refresh_ms = []
        for _ in range(5):
            s = time.perf_counter()
            run_in_unit_of_work(lambda: analytics.refresh_day(tenant_id=tenant_id, day=today, now=utcnow()))
            refresh_ms.append((time.perf_counter() - s) * 1000)

    results.update({
        "team_summary_p50_ms": round(pct(base_ms, 50), 2),
        "team_summary_p95_ms": round(pct(base_ms, 95), 2),
        "dashboard_30d_p50_ms": round(pct(d30, 50), 2),
        "dashboard_30d_p95_ms": round(pct(d30, 95), 2),
        "dashboard_365d_p50_ms": round(pct(d365, 50), 2),
        "dashboard_365d_p95_ms": round(pct(d365, 95), 2),
        "tree_level_p50_ms": round(pct(tree_ms, 50), 2),
        "tree_level_p95_ms": round(pct(tree_ms, 95), 2),
        "refresh_day_median_ms": round(sorted(refresh_ms)[2], 1),
    })
    base = results["team_summary_p95_ms"]
    results["dashboard_30d_p95_vs_summary"] = round(results["dashboard_30d_p95_ms"] / base, 1)
    results["dashboard_365d_p95_vs_summary"] = round(results["dashboard_365d_p95_ms"] / base, 1)
    results["tree_level_p95_vs_summary"] = round(results["tree_level_p95_ms"] / base, 1)
    OUT.mkdir(exist_ok=True)
    (OUT / f"dashboard_{results['database']}_{args.n}.json").write_text(json.dumps(results, indent=2))
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
