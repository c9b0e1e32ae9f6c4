"""SCRM at scale on MariaDB: the boss's workload view, a hand-over of a leaver's customers,
and customers arriving through staff codes — each against a baseline in the same run.

  workload   staff_workload() for 1, 7 and 31 days: three grouped queries (timeline
             events per staff/day/kind, paid orders ⋈ customers ⋈ ownership periods, owned
             counts). Baseline: a bare COUNT(*) of the same days' timeline rows.
  hand-over  hand_over_customers() of one staff member's customers (ownership periods end
             and start, reminders move, timeline rows). Baseline: one UPDATE of the owner
             column of the same rows.
  arrivals   arrive_by_scene() per unit of work (customer row, ownership, timeline, channel
             rule tags). Baseline: one audit row inserted per unit of work.

    ./dev bench scrm                      # 100 staff, 100,000 customers, 1,000,000 events
    python benchmarks/bench_scrm.py --customers 20000 --events 200000 --orders 20000

The database `siyu_bench_scrm` is dropped and recreated.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from benchmarks.treegen import grow_forest, insert_forest  # noqa: E402

OUT = Path(__file__).parent / "out"
KINDS = [("tag_add", 30), ("follow_up", 25), ("remark", 25), ("phone", 5), ("reminder", 10),
         ("tag_remove", 5)]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bulk(conn, table: str, cols: list[str], rows: list[tuple], batch: int = 10_000) -> None:
    """Driver-level executemany (PyMySQL folds it into multi-row INSERTs)."""
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
    raw = conn.connection.dbapi_connection
    cur = raw.cursor()
    for i in range(0, len(rows), batch):
        cur.executemany(sql, rows[i:i + batch])
    raw.commit()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--staff", type=int, default=100)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=31)
    ap.add_argument("--leaver", type=int, default=10_000, help="customers of the staff member leaving")
    ap.add_argument("--arrivals", type=int, default=1000)
    ap.add_argument("--paid-index", action="store_true",
                    help="add an orders (tenant_id, paid_at) index first (not in the orders model yet)")
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/siyu_bench_scrm")
    args = ap.parse_args()

    from backend.migrate import recreate_mysql_database

    url = recreate_mysql_database(args.mysql)

    from backend.app import create_app
    from backend.config import load_settings
    from backend.db import unit_of_work, utcnow
    from backend.extensions import db
    from backend.migrate import upgrade
    from backend.models_registry import import_all_models
    from backend.scrm import service as scrm
    from backend.scrm import tags as tagging
    from backend.scrm import workload
    from backend.scrm.access import china_day
    from backend.staff.service import create_staff
    from backend.tenants.service import create_tenant

    upgrade(url)
    import_all_models()
    app = create_app(load_settings({"DATABASE_URL": url}))
    rng = random.Random(5)
    results: dict[str, object] = {"staff": args.staff, "customers": args.customers,
                                  "events": args.events, "orders": args.orders, "days": args.days,
                                  "orders_paid_index": args.paid_index}
    with app.app_context():
        now = utcnow().replace(microsecond=0)
        today = china_day(now)
        with unit_of_work():
            tenant = create_tenant(slug="bench", name="压测品牌", actor="bench")
            staff_ids = [create_staff(tenant_id=tenant.id, username=f"s{i}", password="password123",
                                      display_name=f"员工{i}", actor="bench").id
                         for i in range(args.staff)]
        tid = tenant.id
        db.session.rollback()

        t0 = time.perf_counter()
        n_members = args.customers + args.arrivals
        forest = grow_forest(n_members)
        member_ids = insert_forest(db.engine, tenant_id=tid, forest=forest, first_id=1)
        # The leaver owns `leaver` customers; the rest are spread over the others.
        owner = [staff_ids[0]] * args.leaver + [
            staff_ids[1 + rng.randrange(args.staff - 1)] for _ in range(args.customers - args.leaver)]
        created = [now - timedelta(days=rng.randrange(args.days + 30), seconds=rng.randrange(86400))
                   for _ in range(args.customers)]
        naive = lambda d: d.astimezone(UTC).replace(tzinfo=None)  # noqa: E731
        with db.engine.connect() as conn:
            bulk(conn, "scrm_customers",
                 ["id", "tenant_id", "member_id", "name", "source", "channel", "owner_staff_id",
                  "owned_since", "created_at", "updated_at"],
                 [(i + 1, tid, member_ids[i], f"客户{i}", "mp_code", "门店", owner[i],
                   naive(created[i]), naive(created[i]), naive(created[i]))
                  for i in range(args.customers)])
            bulk(conn, "scrm_ownerships",
                 ["tenant_id", "customer_id", "staff_id", "reason", "started_at"],
                 [(tid, i + 1, owner[i], "mp_code", naive(created[i])) for i in range(args.customers)])
            events = [(tid, i + 1, owner[i], "added", "", naive(created[i]),
                       china_day(created[i])) for i in range(args.customers)]
            kinds = [k for k, w in KINDS for _ in range(w)]
            for _ in range(args.events - len(events)):
                c = rng.randrange(args.customers)
                at = now - timedelta(days=rng.randrange(args.days), seconds=rng.randrange(86400))
                events.append((tid, c + 1, owner[c], rng.choice(kinds), "", naive(at), china_day(at)))
            bulk(conn, "scrm_customer_events",
                 ["tenant_id", "customer_id", "staff_id", "kind", "content", "at", "day"], events)
            orders = []
            for k in range(args.orders):
                c = rng.randrange(args.customers)
                paid = now - timedelta(days=rng.randrange(args.days), seconds=rng.randrange(86400))
                fen = rng.randrange(1000, 100_000)
                orders.append((f"B{k:012d}", tid, member_ids[c], "paid", fen, 0, fen, fen, 0, "", "",
                               "", "", naive(paid), naive(paid), naive(paid), naive(paid)))
            bulk(conn, "orders",
                 ["order_no", "tenant_id", "member_id", "status", "goods_fen", "freight_fen",
                  "payable_fen", "paid_fen", "refunded_fen", "receiver_name", "receiver_phone",
                  "receiver_address", "remark", "pay_deadline", "paid_at", "created_at",
                  "updated_at"], orders)
            if args.paid_index:
                conn.execute(text("CREATE INDEX ix_orders_tenant_paid ON orders (tenant_id, paid_at)"))
            conn.execute(text("ANALYZE TABLE scrm_customer_events, scrm_customers, scrm_ownerships, "
                              "orders"))
        results["load_s"] = round(time.perf_counter() - t0, 1)
        db.session.rollback()

        def timed(fn, reps: int) -> list[float]:
            out = []
            for _ in range(reps):
                db.session.rollback()
                db.session.expunge_all()
                s = time.perf_counter()
                fn()
                out.append((time.perf_counter() - s) * 1000)
            return out

        for span in (1, 7, 31):
            start = today - timedelta(days=span - 1)
            report = workload.staff_workload(tenant_id=tid, start=start, end=today)
            got_orders = sum(s["total"]["orders"] for s in report["staff"])
            view = timed(lambda s=start: workload.staff_workload(tenant_id=tid, start=s, end=today),
                         args.reps)
            with db.engine.connect() as conn:
                def bare(s: date = start) -> None:
                    conn.execute(text("SELECT COUNT(*) FROM scrm_customer_events WHERE tenant_id = :t"
                                      " AND day BETWEEN :a AND :b"), {"t": tid, "a": s, "b": today}).one()
                bare_ms = []
                bare()  # warm, like the view above
                for _ in range(args.reps):
                    s0 = time.perf_counter()
                    bare()
                    bare_ms.append((time.perf_counter() - s0) * 1000)
                in_window = conn.execute(text(
                    "SELECT COUNT(*) FROM scrm_customer_events WHERE tenant_id = :t AND day BETWEEN :a AND :b"),
                    {"t": tid, "a": start, "b": today}).scalar()
            results[f"workload_{span}d_p50_ms"] = round(pct(view, 50), 1)
            results[f"workload_{span}d_baseline_count_ms"] = round(pct(bare_ms, 50), 1)
            results[f"workload_{span}d_ratio"] = round(pct(view, 50) / max(pct(bare_ms, 50), 1e-3), 1)
            results[f"workload_{span}d_events"] = int(in_window)
            results[f"workload_{span}d_orders_credited"] = got_orders

        # Hand-over of the leaver's customers, then the baseline UPDATE of the same rows.
        leaver, heir = staff_ids[0], staff_ids[1]
        db.session.rollback()
        s0 = time.perf_counter()
        with unit_of_work():
            moved = workload.hand_over_customers(tenant_id=tid, from_staff_id=leaver, to_staff_id=heir,
                                                 actor="bench", now=now)
        results["handover_customers"] = moved
        results["handover_s"] = round(time.perf_counter() - s0, 2)
        with db.engine.begin() as conn:
            s0 = time.perf_counter()
            conn.execute(text("UPDATE scrm_customers SET owner_staff_id = :l WHERE tenant_id = :t AND"
                              " id <= :n"), {"l": leaver, "t": tid, "n": args.leaver})
            results["handover_baseline_update_s"] = round(time.perf_counter() - s0, 2)
        results["handover_ratio"] = round(results["handover_s"] / max(  # type: ignore[operator]
            results["handover_baseline_update_s"], 1e-3), 1)  # type: ignore[arg-type]

        # Arrivals through a staff code with a channel rule, one unit of work each.
        with unit_of_work():
            scrm.create_staff_code(tenant_id=tid, staff_id=staff_ids[2], kind="mp", channel="门店",
                                   actor="bench")
            group = tagging.create_tag_group(tenant_id=tid, name="来源", tag_names=["门店客户"],
                                             actor="bench")
            tag_id = next(t["id"] for g in tagging.list_tag_groups(tenant_id=tid)
                          if g["id"] == group.id for t in g["tags"])
            tagging.create_tag_rule(tenant_id=tid, tag_id=tag_id, kind="channel",
                                    params={"channels": ["门店"]}, actor="bench")
        newcomers = member_ids[args.customers:]
        s0 = time.perf_counter()
        for m in newcomers:
            with unit_of_work():
                scrm.arrive_by_scene(tenant_id=tid, member_id=m, scene=f"s={staff_ids[2]}", now=now)
        arrive_s = time.perf_counter() - s0
        from backend.audit.service import record_audit

        s0 = time.perf_counter()
        for k in range(len(newcomers)):
            with unit_of_work():
                record_audit(tenant_id=tid, actor="bench", action="baseline", target_type="none",
                             target_id=k, before=None, after=None)
        base_s = time.perf_counter() - s0
        results["arrivals_per_s"] = round(len(newcomers) / arrive_s)
        results["baseline_inserts_per_s"] = round(len(newcomers) / base_s)
        results["arrivals_vs_baseline"] = round(base_s / arrive_s, 2)

    OUT.mkdir(exist_ok=True)
    suffix = "_paid_index" if args.paid_index else ""
    (OUT / f"scrm_{args.customers}{suffix}.json").write_text(json.dumps(results, indent=2))
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
