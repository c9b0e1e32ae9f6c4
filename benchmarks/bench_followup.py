"""The paid-order follow-up in-process: CPU per order, statements per batch, and what
MariaDB alone spends writing the same rows.

    ./dev bench followup                      # 600 orders, batches of 100, MariaDB
    ./dev bench followup --orders 1200 --batch 50

Setup (not timed) is bench_payments' (`build`: the 3+3 plan, chains of depth 10,
orders prepaid and paid at the sandbox); the notifications are delivered through the
Flask test client with PAID_FOLLOWUP=worker, so every order waits for its follow-up.
Timed: `paid.drain` over the whole backlog in batches, in this process (process CPU
per order, MariaDB's CPU per order, SQL statements per batch, counted by a cursor
event). Baseline in the same run: the rows the follow-up wrote, copied once more
inside MariaDB with `INSERT … SELECT` in slices of `--batch` orders — the write cost
of the same rows with no Python, no driver, no round trips.

The database `siyu_bench_followup` is dropped and recreated.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_payments import SECRET, _cpu_seconds, _mariadb_pid, build  # noqa: E402

OUT = Path(__file__).parent / "out"

# The tables a paid order's follow-up writes, and the column made unique in a copy.
COPIED = {
    "reward_payouts": {"source_key": "CONCAT('c', source_key)"},
    "reward_lines": {"order_line_id": "order_line_id + 1000000000"},
    "finance_reward_accruals": {"order_line_id": "order_line_id + 1000000000"},
    "ledger_postings": {"idem_key": "CONCAT('c', idem_key)"},
    "ledger_entries": {},
    "notification_outbox": {"dedupe_key": "CONCAT('c', dedupe_key)"},
}


def copy_rows(engine: Any, orders: int, batch: int, db_pid: int | None) -> dict[str, Any]:
    """Copy every follow-up row once more inside MariaDB, a slice of about `batch`
    orders' rows per statement; MariaDB CPU per order, by table and in all."""
    from sqlalchemy import text

    out: dict[str, Any] = {}
    total = 0.0
    with engine.begin() as c:
        for table, unique in COPIED.items():
            cols = [r[0] for r in c.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE()"
                " AND table_name = :t AND column_name <> 'id' ORDER BY ordinal_position"), {"t": table})]
            lo, hi, n = c.execute(text(f"SELECT MIN(id), MAX(id), COUNT(*) FROM {table}")).one()
            if not n:
                continue
            step = max(1, (hi - lo + 1) * batch // orders)
            select_list = ", ".join(unique.get(col, col) for col in cols)
            before = _cpu_seconds(db_pid) if db_pid else 0.0
            for start in range(lo, hi + 1, step):
                c.execute(text(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select_list} FROM {table}"
                               f" WHERE id BETWEEN {start} AND {min(hi, start + step - 1)}"))
            spent = (_cpu_seconds(db_pid) if db_pid else 0.0) - before
            out[table] = {"rows_per_order": round(n / orders, 2), "mariadb_ms_per_order": round(spent * 1000 / orders, 3)}
            total += spent
    out["mariadb_ms_per_order"] = round(total * 1000 / orders, 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=600)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--chains", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/siyu_bench_followup")
    args = ap.parse_args()

    from sqlalchemy import create_engine, event
    from sqlalchemy import text as sql_text

    from backend.config import load_settings
    from backend.extensions import db
    from backend.flows import paid_order as paid
    from backend.migrate import recreate_mysql_database, upgrade
    from backend.wechat.sandbox import flask_client_sender, start_sandbox
    from miniprogram_api import create_web_app

    url = recreate_mysql_database(args.mysql)
    upgrade(url)
    sandbox = start_sandbox(port=0)
    server = "http://127.0.0.1:1"  # notifications go through the test client, not HTTP
    app = create_web_app(load_settings({
        "DATABASE_URL": url, "SECRET_KEY": SECRET, "WECHAT_MODE": "sandbox", "WECHAT_SANDBOX_URL": sandbox.url,
        "PUBLIC_BASE_URL": server, "PAID_FOLLOWUP": "worker"}))
    try:
        built = build(app, sandbox, server, chains=args.chains, orders_n=args.orders, seed=args.seed)
        send = flask_client_sender(app.test_client())
        for n in built["notifications"]:
            sandbox.deliver(n, send=send)
    finally:
        sandbox.stop()
    db_pid = _mariadb_pid()
    statements = 0
    with app.app_context():
        @event.listens_for(db.engine, "before_cursor_execute")
        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        pending = db.session.scalar(sql_text("SELECT COUNT(*) FROM orders WHERE followup_pending = 1"))
        db.session.rollback()
        cpu0, db0, wall0 = time.process_time(), _cpu_seconds(db_pid) if db_pid else 0.0, time.perf_counter()
        done = paid.drain(limit=args.batch)
        cpu = time.process_time() - cpu0
        db_cpu = (_cpu_seconds(db_pid) if db_pid else 0.0) - db0
        wall = time.perf_counter() - wall0
        event.remove(db.engine, "before_cursor_execute", count)
    assert done == pending == args.orders, (done, pending)
    batches = -(-done // args.batch)
    engine = create_engine(url)
    baseline = copy_rows(engine, done, args.batch, db_pid)
    engine.dispose()
    results = {
        "orders": done, "batch": args.batch, "batches": batches,
        "followup_process_cpu_ms_per_order": round(cpu * 1000 / done, 3),
        "followup_mariadb_cpu_ms_per_order": round(db_cpu * 1000 / done, 3),
        "followup_wall_ms_per_order": round(wall * 1000 / done, 3),
        "statements_per_batch": round(statements / batches, 1),
        "baseline_row_copies": baseline,
        "followup_mariadb_vs_row_copies": round(db_cpu * 1000 / done / baseline["mariadb_ms_per_order"], 2)
        if baseline.get("mariadb_ms_per_order") else None,
        "cpus": os.cpu_count(),
    }
    OUT.mkdir(exist_ok=True)
    (OUT / f"followup_{done}_{args.batch}.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
