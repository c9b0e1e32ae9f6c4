"""Members at scale: binding rate, upline and team-summary latency at 1M+ members,
against the naive recursive query as the baseline, in the same run.

    ./dev bench members                 # 1,000,000 members on MariaDB (127.0.0.1:3306)
    ./dev bench members --n 3000000
    ./dev bench members --sqlite --n 100000

The database `siyu_bench` is dropped and recreated.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from benchmarks.treegen import grow_forest, insert_forest  # noqa: E402

OUT = Path(__file__).parent / "out"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def recursive_summary(conn, tenant_id: int, member_id: int) -> tuple[int, int, int, int]:
    """The baseline: walk the subtree at request time with a recursive CTE."""
    row = conn.execute(text(
        "WITH RECURSIVE team (id, lvl) AS ("
        " SELECT id, 1 FROM members WHERE tenant_id = :t AND parent_id = :m"
        " UNION ALL SELECT m.id, team.lvl + 1 FROM members m JOIN team ON m.parent_id = team.id"
        " WHERE m.tenant_id = :t)"
        " SELECT COUNT(*), SUM(lvl = 1), SUM(lvl = 2), SUM(lvl = 3) FROM team"),
        {"t": tenant_id, "m": member_id}).one()
    return tuple(int(v or 0) for v in row)  # type: ignore[return-value]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--binds", type=int, default=2000)
    ap.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/siyu_bench")
    args = ap.parse_args()

    if args.sqlite:
        db_path = OUT / "bench_members.sqlite"
        OUT.mkdir(exist_ok=True)
        db_path.unlink(missing_ok=True)
        url = f"sqlite:///{db_path}"
    else:
        from backend.migrate import recreate_mysql_database

        url = recreate_mysql_database(args.mysql)

    from backend.app import create_app
    from backend.config import load_settings
    from backend.db import unit_of_work, utcnow
    from backend.extensions import db
    from backend.members import service as members
    from backend.migrate import upgrade
    from backend.tenants.service import create_tenant

    upgrade(url)
    app = create_app(load_settings({"DATABASE_URL": url}))
    results: dict[str, object] = {"n": args.n, "database": "sqlite" if args.sqlite else "mariadb"}
    with app.app_context():
        with unit_of_work():
            tenant = create_tenant(slug="bench", name="压测品牌", actor="bench")
        tenant_id = tenant.id
        forest = grow_forest(args.n)
        t0 = time.perf_counter()
        ids = insert_forest(db.engine, tenant_id=tenant_id, forest=forest, first_id=1)
        results["insert_s"] = round(time.perf_counter() - t0, 1)
        # Reading tenant.id above opened a REPEATABLE READ snapshot older than the rows.
        db.session.rollback()

        # Largest teams and deepest members, from the generator's own arrays.
        sizes = [0] * len(ids)
        for i in range(len(ids) - 1, -1, -1):
            p = forest.parent[i]
            if p >= 0:
                sizes[p] += sizes[i] + 1
        largest = sorted(range(len(ids)), key=lambda i: -sizes[i])[:20]
        deepest = sorted(range(len(ids)), key=lambda i: -forest.depth[i])[:20]
        results["largest_team"] = sizes[largest[0]]
        results["max_depth"] = forest.depth[deepest[0]]

        def timed(fn, reps: int) -> list[float]:
            out = []
            for _ in range(reps):
                db.session.expunge_all()  # measure the database, not the identity map
                s = time.perf_counter()
                fn()
                out.append((time.perf_counter() - s) * 1000)
            return out

        from sqlalchemy import select

        from backend.members.models import Member

        def row_alone(member_id: int) -> None:  # the read before deferred counters: the row only
            db.session.execute(select(Member.team_total, Member.team_l1, Member.team_l2, Member.team_l3).where(
                Member.tenant_id == tenant_id, Member.id == member_id)).one()

        summary_ms: list[float] = []
        row_ms: list[float] = []
        for i in largest:  # interleaved, so both see the same load
            summary_ms += timed(lambda i=i: members.team_summary(
                tenant_id=tenant_id, member_id=ids[i]), 25)
            row_ms += timed(lambda i=i: row_alone(ids[i]), 25)
        upline_ms: list[float] = []
        for i in deepest:
            upline_ms += timed(lambda i=i: members.upline(tenant_id=tenant_id, member_id=ids[i]), 25)
        page_ms: list[float] = []
        for i in largest:
            for level in (1, 2, 3, None):
                page_ms += timed(lambda i=i, level=level: members.team_page(
                    tenant_id=tenant_id, member_id=ids[i], level=level, limit=20), 3)

        # Baseline on the largest team, in the same run and process.
        base_ms = []
        with db.engine.connect() as conn:
            for _ in range(3):
                s = time.perf_counter()
                naive = recursive_summary(conn, tenant_id, ids[largest[0]])
                base_ms.append((time.perf_counter() - s) * 1000)
        fast = members.team_summary(tenant_id=tenant_id, member_id=ids[largest[0]])
        assert naive == (fast["total"], fast["level1"], fast["level2"], fast["level3"]), (naive, fast)
        largest_fast = timed(lambda: members.team_summary(
            tenant_id=tenant_id, member_id=ids[largest[0]]), 50)

        # Binding rate through the real service, one unit of work per binding.
        rng = random.Random(1)
        now = utcnow()
        with unit_of_work():
            fresh = [members.upsert_member(tenant_id=tenant_id, openid=f"newcomer-{k}", now=now).id
                     for k in range(args.binds)]
        s = time.perf_counter()
        for member_id in fresh:
            with unit_of_work():
                members.bind_member(tenant_id=tenant_id, member_id=member_id,
                                    parent_id=ids[rng.randrange(len(ids))], source="share",
                                    scene=None, now=now)
        bind_s = time.perf_counter() - s
        # The same summaries with every binding's deltas still pending (no fold job here):
        # the worst case of the deferred read, a sum over up to --binds index entries.
        pending_ms: list[float] = []
        for i in largest:
            pending_ms += timed(lambda i=i: members.team_summary(tenant_id=tenant_id, member_id=ids[i]), 25)
        # Baseline for the binding rate: one audit row inserted per unit of work.
        from backend.audit.service import record_audit

        s = time.perf_counter()
        for k in range(args.binds):
            with unit_of_work():
                record_audit(tenant_id=tenant_id, actor="bench", action="baseline",
                             target_type="none", target_id=k, before=None, after=None)
        insert_s = time.perf_counter() - s
        with db.engine.connect() as conn:
            check = recursive_summary(conn, tenant_id, ids[largest[0]])
        after = members.team_summary(tenant_id=tenant_id, member_id=ids[largest[0]])
        assert check[0] == after["total"], (check, after)

    results.update({
        "binds_per_s": round(args.binds / bind_s),
        "baseline_inserts_per_s": round(args.binds / insert_s),
        "team_summary_p50_ms": round(pct(summary_ms, 50), 3),
        "team_summary_p95_ms": round(pct(summary_ms, 95), 3),
        "row_alone_p50_ms": round(pct(row_ms, 50), 3),
        "row_alone_p95_ms": round(pct(row_ms, 95), 3),
        "team_summary_deltas_pending_p50_ms": round(pct(pending_ms, 50), 3),
        "team_summary_deltas_pending_p95_ms": round(pct(pending_ms, 95), 3),
        "upline_p50_ms": round(pct(upline_ms, 50), 3),
        "upline_p95_ms": round(pct(upline_ms, 95), 3),
        "team_page_p50_ms": round(pct(page_ms, 50), 3),
        "team_page_p95_ms": round(pct(page_ms, 95), 3),
        "recursive_baseline_ms": round(statistics.median(base_ms), 1),
        "largest_team_summary_ms": round(statistics.median(largest_fast), 3),
    })
    results["speedup_vs_recursive"] = round(
        results["recursive_baseline_ms"] / max(results["largest_team_summary_ms"], 1e-6))
    OUT.mkdir(exist_ok=True)
    (OUT / f"members_{results['database']}_{args.n}.json").write_text(json.dumps(results, indent=2))
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
