"""Where a surge request's cost goes, in one process: SQL statements, Redis commands and
CPU per request of the surge benchmark's paths, through the Flask test client.

    .venv/bin/python benchmarks/profile_surge.py                      # SQLite in a temp folder
    .venv/bin/python benchmarks/profile_surge.py --mysql mysql+pymysql://root@127.0.0.1:3306/siyu_x \\
        --redis redis://127.0.0.1:6380/20 --n 300 --cprofile mp

The setup is bench_surge.py's own (tenant, promoters, signed OA subscribe pushes, one
member token per mini-program binder). Measured per request, single-threaded, after a
warm-up: the one-INSERT baseline endpoint of bench_payments.py, the OA subscribe push
(OA_INBOX=worker) and the mini-program scene binding `POST /api/v1/mp/me/bind`
(MP_BIND_INBOX=worker); `time.process_time` over the phase (the test client's own
work included, the same for every path), statements counted by a cursor-execute
listener, Redis commands by a wrapper of `execute_command`. `--cprofile mp|oa|base`
prints the top functions of that phase by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _app() -> Any:
    """The product's web app plus bench_payments.py's one-INSERT endpoint (its INSERT
    written for either database)."""
    from flask import Blueprint, Response, request
    from sqlalchemy import text

    from backend.config import load_settings
    from backend.db import utcnow
    from backend.extensions import db
    from miniprogram_api import create_web_app
    from miniprogram_api.http import route

    app = create_web_app(load_settings())
    bp = Blueprint("bench_baseline", __name__, url_prefix="/bench")

    @route(bp, "/baseline", method="POST", auth=None, raw=True)
    def baseline() -> Response:
        body = request.get_data(cache=True)
        db.session.execute(text("INSERT INTO bench_baseline (size, created_at) VALUES (:n, :t)"),
                           {"n": len(body), "t": utcnow()})
        return Response(status=204)

    app.register_blueprint(bp)
    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mysql", default="", help="a MariaDB URL (recreated); default: SQLite in a temp folder")
    ap.add_argument("--redis", default="", help="a Redis URL (flushed); default: fakeredis")
    ap.add_argument("--n", type=int, default=300, help="timed requests per path")
    ap.add_argument("--cprofile", choices=("mp", "oa", "base", "oa_worker", "mp_worker"), default=None)
    ap.add_argument("--rounds", type=int, default=5, help="the phases interleaved in this many rounds")
    ap.add_argument("--show-sql", action="store_true", help="print one request's statements per path")
    args = ap.parse_args()

    from sqlalchemy import create_engine, event, text

    from backend.migrate import upgrade

    if args.mysql:
        from benchmarks.bench_payments import prepare_database

        url = prepare_database(args.mysql)
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='siyu-prof-')}/p.sqlite"
        upgrade(url)
        engine = create_engine(url)
        with engine.begin() as c:
            c.execute(text("CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY, size INT NOT NULL,"
                           " created_at DATETIME NOT NULL)"))
        engine.dispose()
    if args.redis:
        import redis

        redis.Redis.from_url(args.redis).flushdb()

    from backend.wechat.sandbox import start_sandbox

    sandbox = start_sandbox()
    server = "http://127.0.0.1:18099"  # only names the URLs; the test client serves them
    os.environ.update({"DATABASE_URL": url, "SECRET_KEY": "bench-surge-secret-0123456789",
                       "WECHAT_MODE": "sandbox", "WECHAT_SANDBOX_URL": sandbox.url, "PUBLIC_BASE_URL": server,
                       "OA_INBOX": "worker", "MP_BIND_INBOX": "worker", "RATE_LIMITS": ""})
    if args.redis:
        os.environ["REDIS_URL"] = args.redis
    else:
        os.environ.pop("REDIS_URL", None)
    from benchmarks.bench_surge import build

    app = _app()
    warm = 30
    built = build(app, sandbox, server, promoters=8, followers=warm + args.n, binders=warm + args.n, products=2)
    client = app.test_client()

    statements: list[str] = []
    with app.app_context():
        from backend.extensions import db

        event.listen(db.engine, "before_cursor_execute",
                     lambda conn, cur, stmt, params, ctx, many: statements.append(stmt))
    redis_calls: list[str] = []
    import redis as redis_mod

    original = redis_mod.Redis.execute_command

    def counted(self: Any, *a: Any, **k: Any) -> Any:
        redis_calls.append(str(a[0]))
        return original(self, *a, **k)

    redis_mod.Redis.execute_command = counted  # type: ignore[method-assign]
    try:
        import fakeredis

        fake_original = fakeredis.FakeRedis.execute_command

        def fake_counted(self: Any, *a: Any, **k: Any) -> Any:
            redis_calls.append(str(a[0]))
            return fake_original(self, *a, **k)

        fakeredis.FakeRedis.execute_command = fake_counted  # type: ignore[method-assign]
    except ImportError:
        pass

    wire: Counter[str] = Counter()
    if args.mysql:  # every command pymysql sends (pings, COMMITs and ROLLBACKs included)
        import pymysql.connections

        pm_original = pymysql.connections.Connection._execute_command

        def pm_counted(self: Any, command: int, sql: Any) -> Any:
            text_ = sql.decode(errors="replace") if isinstance(sql, bytes) else str(sql)
            wire[f"{command}:{text_.split()[0].upper() if text_.strip() else ''}"] += 1
            return pm_original(self, command, sql)

        pymysql.connections.Connection._execute_command = pm_counted  # type: ignore[method-assign]
        pm_ping = pymysql.connections.Connection.ping

        def ping_counted(self: Any, *a: Any, **k: Any) -> Any:
            wire["ping"] += 1
            return pm_ping(self, *a, **k)

        pymysql.connections.Connection.ping = ping_counted  # type: ignore[method-assign]

    def send(w: Any) -> int:
        parts = urlsplit(w.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        resp = client.open(path, method=w.method, headers=dict(w.headers), data=w.body)
        return int(resp.status_code)

    pushes = built["pushes"]
    mp = built["mp"]["many"] + built["mp"]["one"]
    from benchmarks.bench_payments import baseline_requests

    phases = {"base": baseline_requests(server, pushes[0], warm + args.n), "oa": pushes[: warm + args.n],
              "mp": mp[: warm + args.n]}
    results: dict[str, Any] = {"database": "mariadb" if args.mysql else "sqlite",
                               "redis": "redis" if args.redis else "fakeredis", "n": args.n}
    # Warm-up, then the phases interleaved in rounds (base, oa, mp, base, …) so that a
    # change in the machine's load falls on every path alike.
    todo: dict[str, list[Any]] = {}
    for name, wires in phases.items():
        for w in wires[:warm]:
            send(w)
        if args.show_sql:
            statements.clear()
            redis_calls.clear()
            send(wires[warm])
            print(f"--- {name}: {len(statements)} statements, redis {redis_calls}")
            for s in statements:
                print("   ", " ".join(s.split())[:200])
            todo[name] = wires[warm + 1:]
        else:
            todo[name] = wires[warm:]
    totals = {name: {"n": 0, "cpu": 0.0, "wall": 0.0, "statements": 0, "redis": Counter(), "statuses": Counter()}
              for name in phases}
    profiler = cProfile.Profile(time.process_time) if args.cprofile else None
    for r in range(args.rounds):
        for name, wires in todo.items():
            chunk = wires[r * len(wires) // args.rounds:(r + 1) * len(wires) // args.rounds]
            statements.clear()
            redis_calls.clear()
            wire.clear()
            t = totals[name]
            t0, w0 = time.process_time(), time.perf_counter()
            if profiler and args.cprofile == name:
                profiler.enable()
            for w in chunk:
                t["statuses"][send(w)] += 1
            if profiler and args.cprofile == name:
                profiler.disable()
            t["cpu"] += time.process_time() - t0
            t["wall"] += time.perf_counter() - w0
            t["n"] += len(chunk)
            t["statements"] += len(statements)
            t["redis"].update(redis_calls)
            t.setdefault("wire", Counter()).update(wire)
    for name, t in totals.items():
        n = t["n"]
        results[name] = {"requests": n, "statuses": dict(t["statuses"]), "cpu_ms": round(t["cpu"] / n * 1000, 3),
                         "wall_ms": round(t["wall"] / n * 1000, 3), "statements": round(t["statements"] / n, 2),
                         "redis_commands": round(sum(t["redis"].values()) / n, 2), "redis_kinds": dict(t["redis"]),
                         "mysql_commands_per_request": {k: round(v / n, 2) for k, v in t.get("wire", {}).items()}}
    # The workers' side: what the requests above queued, drained in batches as the jobs
    # process does (statements and CPU per event, the sandbox's unionid answers included).
    from backend.db import run_in_unit_of_work
    from backend.members import bind_inbox
    from backend.oa import service as oa_service

    for name, drain in (("oa_worker", oa_service.bind_followers), ("mp_worker", bind_inbox.bind_requests)):
        statements.clear()
        wire.clear()
        worker_profiler = cProfile.Profile(time.process_time) if args.cprofile == name else None
        t0, w0, applied, batches = time.process_time(), time.perf_counter(), 0, 0
        with app.app_context():
            while True:
                if worker_profiler:
                    worker_profiler.enable()
                n = run_in_unit_of_work(drain)
                if worker_profiler:
                    worker_profiler.disable()
                if not n:
                    break
                applied, batches = applied + n, batches + 1
        cpu, wall = time.process_time() - t0, time.perf_counter() - w0
        results[name] = {"events": applied, "batches": batches, "cpu_ms": round(cpu / max(applied, 1) * 1000, 3),
                         "wall_ms": round(wall / max(applied, 1) * 1000, 3),
                         "statements": round(len(statements) / max(applied, 1), 2),
                         "statements_per_batch": round(len(statements) / max(batches, 1), 1),
                         "mysql_commands_per_event": {k: round(v / max(applied, 1), 2) for k, v in wire.items()}}
        if worker_profiler:
            profiler = worker_profiler
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(int(os.environ.get("PROFILE_TOP", "45")))
    sandbox.stop()
    print(json.dumps(results, indent=2))
    for name in ("oa_worker", "mp_worker"):
        r = results[name]
        print(f"{name}: {r['events']} events in {r['batches']} batches, {r['cpu_ms']:.3f} ms CPU and "
              f"{r['statements']:.2f} statements per event ({r['statements_per_batch']} per batch)")
    print(f"{'path':6} {'cpu ms':>7} {'wall ms':>8} {'stmts':>6} {'redis':>6}  cpu vs base")
    for name in phases:
        r = results[name]
        print(f"{name:6} {r['cpu_ms']:7.3f} {r['wall_ms']:8.3f} {r['statements']:6.2f} {r['redis_commands']:6.2f}"
              f"  {r['cpu_ms'] / results['base']['cpu_ms']:.2f}x")


if __name__ == "__main__":
    main()
