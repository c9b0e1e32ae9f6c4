"""Daily summaries at scale: yesterday's summary for every active promoter of a tenant
with 1,000,000 promoters, built set-based and queued to the outbox, against the
per-member baseline (the same figures read one member at a time) in the same run.

    ./dev bench notifications                  # 1,000,000 promoters on MariaDB (127.0.0.1:3306)
    ./dev bench notifications --reuse          # keep the seeded database of an earlier run
    ./dev bench notifications --n 100000
    ./dev bench notifications --sqlite --n 50000

Data: the foundation's forest generator (benchmarks/treegen.py), then, for the day
reported: 3% of members newly bound (the newest joiners), `--orders` paid orders by
random members, frozen commission for each order's three ancestors and settlements
for a third as many members, in the ledger (postings, entries, balance shards);
30% of promoters reachable through the bot, 10% through subscribe messages, 2%
opted out. As many orders again were paid in the week before (`--orders-before`), so
the day's orders are a range of the table, as in a shop that has been open a while.

The database `siyu_bench_notify` is dropped and recreated, unless `--reuse` finds one
seeded with the same options and migrations (seeding 1,000,000 members takes 4–10
minutes); then only its outbox and daily runs are emptied. Tables come from the
migrations plus the models (`create_all` for tables without a migration yet), and every
index the models declare that the database lacks is created: the daily figures rely on
members (tenant_id, bound_at) and orders (tenant_id, paid_at).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from benchmarks.treegen import grow_forest, insert_forest  # noqa: E402

OUT = Path(__file__).parent / "out"
DAY = date(2026, 11, 2)


def bulk(engine, sql: str, rows: list[tuple], batch: int = 5000) -> None:
    """Driver-level executemany (PyMySQL folds it into multi-row INSERTs)."""
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    sql = sql.replace("%s", mark)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for start in range(0, len(rows), batch):
            cur.executemany(sql, rows[start:start + batch])
        raw.commit()
    finally:
        raw.close()


def seed_day(engine, *, tenant_id: int, ids: list[int], parent: list[int], orders: int, orders_before: int,
             seed: int = 3) -> dict:
    """The reported day's activity, bulk-inserted; returns what was made."""
    from backend.ledger.models import MAX_SHARDS, SHARDS, AccountKind
    from backend.notifications.messages import day_window

    rng = random.Random(seed)
    start, _ = day_window(DAY)
    at = (start + timedelta(hours=10)).replace(tzinfo=None)
    n = len(ids)
    new = max(1, n * 3 // 100)
    with engine.begin() as conn:
        conn.execute(text("UPDATE members SET bound_at = :at WHERE tenant_id = :t AND id >= :first"
                          " AND parent_id IS NOT NULL"), {"at": at, "t": tenant_id, "first": ids[n - new]})

    order_rows, credits = [], defaultdict(int)
    for k in range(orders):
        i = rng.randrange(n)
        paid = rng.randrange(1000, 50000)
        order_rows.append((tenant_id, f"B{k:012d}", ids[i], "paid", paid, 0, paid, paid, 0, "", "", "", "",
                           at, at, at, at))
        p, level = parent[i], 0
        while p >= 0 and level < 3:
            credits[ids[p]] += paid * (30 - 10 * level) // 100
            p, level = parent[p], level + 1
    before = random.Random(seed + 1)  # its own draws: the day's data stays the same
    for k in range(orders_before):  # the week before: outside the window
        i = before.randrange(n)
        paid = before.randrange(1000, 50000)
        when = at - timedelta(days=1 + k * 7 // max(1, orders_before), minutes=before.randrange(600))
        order_rows.append((tenant_id, f"A{k:012d}", ids[i], "paid", paid, 0, paid, paid, 0, "", "", "", "",
                           when, when, when, when))
    order_rows.sort(key=lambda r: r[13])  # ids in order of payment, as in a real shop
    bulk(engine, "INSERT INTO orders (tenant_id, order_no, member_id, status, goods_fen, freight_fen,"
         " payable_fen, paid_fen, refunded_fen, receiver_name, receiver_phone, receiver_address, remark,"
         " pay_deadline, paid_at, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
         " %s, %s, %s, %s, %s, %s, %s, %s)", order_rows)

    earners = sorted(credits)
    settled = {m: rng.randrange(100, 20000) for m in rng.sample(ids, len(earners) // 3)}
    owners = sorted(set(earners) | set(settled))
    # accounts: frozen and available per owner, plus the merchant
    acct: dict[tuple[str, int], int] = {}
    rows = []
    for kind, owner in [(AccountKind.MERCHANT, 0)] + [(k, m) for m in owners
                                                     for k in (AccountKind.MEMBER_FROZEN,
                                                               AccountKind.MEMBER_AVAILABLE)]:
        acct[(kind, owner)] = len(acct) + 1
        rows.append((acct[(kind, owner)], tenant_id, kind, owner, SHARDS[kind], at))
    bulk(engine, "INSERT INTO ledger_accounts (id, tenant_id, kind, owner_key, shards, created_at)"
         " VALUES (%s, %s, %s, %s, %s, %s)", rows)
    postings, entries = [], []
    balance: dict[int, int] = defaultdict(int)

    def post(kind: str, member: int, legs: list[tuple[int, int]]) -> None:
        pid = len(postings) + 1
        postings.append((pid, tenant_id, f"bench:{pid}", kind, "", member, at))
        for account, amount in legs:
            entries.append((tenant_id, pid, account, amount))
            balance[account] += amount

    merchant = acct[(AccountKind.MERCHANT, 0)]
    for m in earners:
        post("reward_freeze", m, [(acct[(AccountKind.MEMBER_FROZEN, m)], credits[m]), (merchant, -credits[m])])
    for m, fen in settled.items():
        post("reward_settle", m, [(acct[(AccountKind.MEMBER_FROZEN, m)], -fen),
                                  (acct[(AccountKind.MEMBER_AVAILABLE, m)], fen)])
    bulk(engine, "INSERT INTO ledger_postings (id, tenant_id, idem_key, kind, memo, member_id, created_at)"
         " VALUES (%s, %s, %s, %s, %s, %s, %s)", postings)
    bulk(engine, "INSERT INTO ledger_entries (tenant_id, posting_id, account_id, amount_fen)"
         " VALUES (%s, %s, %s, %s)", entries)
    bulk(engine, "INSERT INTO ledger_balances (id, account_id, shard, balance_fen) VALUES (%s, %s, %s, %s)",
         [(a * MAX_SHARDS, a, 0, fen) for a, fen in balance.items()])

    # reach: 30% bot contacts, 10% subscribe consent, 2% opted out
    sample = rng.sample(ids, n * 42 // 100)
    bots, subs, outs = sample[: n * 30 // 100], sample[n * 30 // 100: n * 40 // 100], sample[n * 40 // 100:]
    bulk(engine, "INSERT INTO chat_contacts (tenant_id, transport, contact_id, display_name, member_id,"
         " linked_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
         [(tenant_id, "wechaty", f"wxid_{m}", "", m, at, at) for m in bots])
    bulk(engine, "INSERT INTO notification_preferences (tenant_id, member_id, daily_enabled, alerts_enabled,"
         " channel, daily_credits, alert_credits, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
         [(tenant_id, m, True, True, "auto", 3, 0, at) for m in subs]
         + [(tenant_id, m, False, True, "auto", 0, 0, at) for m in outs])
    return {"new_members": new, "orders": orders, "orders_before": orders_before, "frozen_credits": len(earners), "settlements": len(settled),
            "ledger_entries": len(entries), "bot_contacts": len(bots), "subscribers": len(subs),
            "opted_out": len(outs)}


def ensure_indexes(engine, metadata) -> list[str]:
    """Create every index the models declare that the database lacks (a migration may
    not cover it yet); returns the names created."""
    from sqlalchemy import inspect

    made = []
    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        have = {ix["name"] for ix in inspector.get_indexes(table.name)}
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            if index.name not in have:
                index.create(engine)
                made.append(index.name)
    return made


def seeded_before(url: str, record: Path, wanted: dict) -> dict | None:
    """What an earlier run seeded into this database, if it was seeded with `wanted`."""
    if not record.exists():
        return None
    seeded = json.loads(record.read_text())
    if {k: seeded.get(k) for k in wanted} != wanted:
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            members = conn.execute(text("SELECT COUNT(*) FROM members m JOIN tenants t ON t.id = m.tenant_id"
                                        " WHERE t.slug = 'bench'")).scalar()
    except Exception:  # noqa: BLE001 - no database, no tables: seed afresh
        return None
    finally:
        engine.dispose()
    return seeded if members == wanted["n"] else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=None, help="paid orders that day (default n/10)")
    ap.add_argument("--orders-before", type=int, default=None,
                    help="paid orders in the week before (default: as many as that day)")
    ap.add_argument("--baseline", type=int, default=2000, help="members read one by one for the baseline")
    ap.add_argument("--reuse", action="store_true", help="keep the database an earlier run seeded alike")
    ap.add_argument("--without-paid-index", action="store_true",
                    help="drop orders (tenant_id, paid_at) before building (to measure what it is worth)")
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/siyu_bench_notify")
    args = ap.parse_args()
    orders = args.orders if args.orders is not None else args.n // 10
    orders_before = args.orders_before if args.orders_before is not None else orders
    from alembic.script import ScriptDirectory

    from backend.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    # A new migration means a new schema: seed afresh rather than migrate seeded tables.
    wanted = {"n": args.n, "orders": orders, "orders_before": orders_before, "migration_head": head}

    if args.sqlite:
        OUT.mkdir(exist_ok=True)
        db_path = OUT / "bench_notifications.sqlite"
        url = f"sqlite:///{db_path}"
        record = OUT / "notifications_seed_sqlite.json"
        seeded = seeded_before(url, record, wanted) if args.reuse and db_path.exists() else None
        if seeded is None:
            db_path.unlink(missing_ok=True)
    else:
        url = args.mysql + "?charset=utf8mb4"
        base, _, name = args.mysql.rpartition("/")
        record = OUT / f"notifications_seed_{name}.json"
        seeded = seeded_before(url, record, wanted) if args.reuse else None
        if seeded is None:
            from backend.migrate import recreate_mysql_database

            recreate_mysql_database(url)

    from backend.app import create_app
    from backend.config import load_settings
    from backend.db import Base, unit_of_work
    from backend.extensions import db
    from backend.migrate import upgrade
    from backend.models_registry import import_all_models
    from backend.notifications.daily import member_day
    from backend.notifications.jobs import build_tenant_daily
    from backend.notifications.messages import DaySummary, day_window
    from backend.tenants.service import create_tenant

    upgrade(url)
    import_all_models()
    try:
        import backend.finance.models  # noqa: F401
    except ImportError:
        pass
    engine = create_engine(url)
    Base.metadata.create_all(engine)  # tables whose migration the lead has not written yet
    made = ensure_indexes(engine, Base.metadata)  # indexes likewise (on empty tables: cheap)
    app = create_app(load_settings({"DATABASE_URL": url}))
    results: dict[str, object] = {"n": args.n, "database": "sqlite" if args.sqlite else "mariadb"}
    with app.app_context():
        if seeded is None:
            with unit_of_work():
                tenant_id = create_tenant(slug="bench", name="压测品牌", actor="bench").id
            forest = grow_forest(args.n)
            t0 = time.perf_counter()
            ids = insert_forest(db.engine, tenant_id=tenant_id, forest=forest, first_id=1)
            seeded = {**wanted, "members_insert_s": round(time.perf_counter() - t0, 1)}
            t0 = time.perf_counter()
            seeded.update(seed_day(db.engine, tenant_id=tenant_id, ids=ids, parent=forest.parent, orders=orders,
                                   orders_before=orders_before))
            seeded["activity_insert_s"] = round(time.perf_counter() - t0, 1)
            db.session.rollback()
            OUT.mkdir(exist_ok=True)
            record.write_text(json.dumps(seeded, indent=2))
        else:
            results["reused_database"] = True
            tenant_id = db.session.scalar(text("SELECT id FROM tenants WHERE slug = 'bench'"))
            ids = list(range(1, args.n + 1))  # insert_forest numbers members from first_id=1
            with db.engine.begin() as conn:
                for table in ("notification_outbox", "notification_daily_runs"):
                    conn.execute(text(f"DELETE FROM {table} WHERE tenant_id = :t"), {"t": tenant_id})
            db.session.rollback()
        results.update({k: v for k, v in seeded.items() if k not in ("n", "migration_head")})
        results["indexes_created"] = made
        with db.engine.begin() as conn:
            if args.without_paid_index:
                conn.execute(text("DROP INDEX ix_orders_tenant_paid ON orders" if not args.sqlite
                                  else "DROP INDEX ix_orders_tenant_paid"))
        from sqlalchemy import inspect

        inspector = inspect(db.engine)
        have = {(t, ix["name"]) for t in ("members", "orders") for ix in inspector.get_indexes(t)}
        assert ("members", "ix_members_tenant_bound_at") in have, "members (tenant_id, bound_at) is missing"
        assert (("orders", "ix_orders_tenant_paid") in have) != args.without_paid_index
        results["orders_paid_at_index"] = not args.without_paid_index
        if not args.sqlite:
            with db.engine.connect() as conn:
                for table in ("members", "orders", "ledger_postings", "ledger_entries", "ledger_accounts",
                              "ledger_balances", "chat_contacts", "notification_preferences"):
                    conn.execute(text(f"ANALYZE TABLE {table}"))

        now = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), tzinfo=UTC)  # 08:00 China
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        res = build_tenant_daily(tenant_id=tenant_id, day=DAY, now=now)
        build_s = time.perf_counter() - t0
        load_after = os.getloadavg()
        results["load_average_1m_before_after"] = [round(load_before[0], 1), round(load_after[0], 1)]
        results.update({"summaries_built": res.built, "queued": res.enqueued, "quiet": res.quiet,
                        "unreachable": res.unreachable, "build_s": round(build_s, 2),
                        "promoters_per_s": round(res.built / build_s)})

        # Correctness: queued payloads equal the per-member path's figures (a sample spread
        # over the whole run), and promoters sent nothing had no news or no channel.
        from backend.notifications.contacts import reach_of
        from backend.notifications.routing import choose_route

        rows = db.session.execute(text("SELECT member_id, payload FROM notification_outbox"
                                       " WHERE tenant_id = :t ORDER BY id"), {"t": tenant_id}).all()
        for member_id, payload in rows[::max(1, len(rows) // 100)]:
            payload = json.loads(payload) if isinstance(payload, str) else payload
            assert DaySummary.from_payload(member_id, payload) == member_day(
                tenant_id=tenant_id, member_id=member_id, day=DAY), member_id
        results["checked_against_per_member"] = len(rows[::max(1, len(rows) // 100)])
        queued = {r[0] for r in rows}
        check = random.Random(11)
        silent = [m for m in check.sample(ids, 5000) if m not in queued][:100]
        reach = reach_of(tenant_id=tenant_id, member_ids=silent)
        for m in silent:
            day = member_day(tenant_id=tenant_id, member_id=m, day=DAY)
            assert not day.has_news() or choose_route(reach[m], daily=True).channel is None, m
        results["checked_sent_nothing"] = len(silent)
        db.session.rollback()
        again = build_tenant_daily(tenant_id=tenant_id, day=DAY, now=now)
        assert again.enqueued == 0
        count = db.session.scalar(text("SELECT COUNT(*) FROM notification_outbox WHERE tenant_id = :t"),
                                  {"t": tenant_id})
        assert count == res.enqueued, (count, res.enqueued)

        # Baseline: the same figures read one member at a time (what a per-member job does).
        rng = random.Random(5)
        sample = rng.sample(ids, min(args.baseline, len(ids)))
        db.session.rollback()
        t0 = time.perf_counter()
        for m in sample:
            member_day(tenant_id=tenant_id, member_id=m, day=DAY)
        per_member_s = (time.perf_counter() - t0) / len(sample)
        results["baseline_ms_per_member"] = round(per_member_s * 1000, 3)
        results["baseline_extrapolated_s"] = round(per_member_s * res.built, 1)
        results["speedup_vs_per_member"] = round(per_member_s * res.built / build_s, 1)
        start, end = day_window(DAY)
        results["window_utc"] = f"{start.isoformat()} .. {end.isoformat()}"
        db.session.rollback()
        if args.without_paid_index:  # leave the database as the models describe it
            ensure_indexes(db.engine, Base.metadata)
    OUT.mkdir(exist_ok=True)
    suffix = "_no_paid_index" if args.without_paid_index else ""
    (OUT / f"notifications_{results['database']}_{args.n}{suffix}.json").write_text(json.dumps(results, indent=2))
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f"{k:<{width}}  {v}")
    if not args.sqlite:
        print("aim: build ≤ 60 s for 1,000,000 promoters on MariaDB —",
              "met" if build_s <= 60 or args.n < 1_000_000 else "NOT met")


if __name__ == "__main__":
    main()
