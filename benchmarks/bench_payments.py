"""Paid notifications per second, end to end, against one insert per request.

    ./dev bench payments                       # defaults below, MariaDB on 127.0.0.1:3306
    ./dev bench payments --orders 600 --storm 150 --workers 4

A real HTTP server (gunicorn, several gthread workers) serves the product's
/api/v1/pay/notify/<tenant> and, from the same app, a baseline endpoint that runs
one unit of work doing one INSERT. Setup (not timed) builds a tenant with the 3+3
plan of docs/examples/three_plus_three.json, chains of depth 10 (random promoter tiers
and agent levels), orders prepaid through the gateway and paid at the WeChat sandbox,
whose notifications are signed before the clock starts so the client only posts.

With --followup worker (the default) the server runs PAID_FOLLOWUP=worker and a second
process, `python -m backend.jobs --only orders.follow_up_paid_orders`, writes the paid
orders' rewards, postings and alerts in batches; a payment phase ends only when that
backlog is empty (end to end), and its CPU counts both processes. --followup inline
runs each order's follow-up in its request instead.

Timed, in one run: baseline → payments (each notification once) → baseline again →
replay storm (a fresh set of orders, every notification 10×, shuffled, all at once).
Then the checks: every order paid once, one reward line per order line, no duplicate
payout, and the ledger balanced (rebuilt from its entries) when finance is installed.

The database `siyu_bench_payments` is dropped and recreated.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = Path(__file__).parent / "out"
SECRET = "bench-payments-secret"
SLUG = "benchpay"
PLAN_FILE = ROOT / "docs" / "examples" / "three_plus_three.json"


# ---------------------------------------------------------------- the server side


def wsgi_app() -> Any:
    """gunicorn factory: the product's web app plus the baseline endpoint."""
    from flask import Blueprint, Response, request
    from sqlalchemy import text

    from backend.config import load_settings
    from backend.extensions import db
    from miniprogram_api import create_web_app
    from miniprogram_api.http import route

    app = create_web_app(load_settings())
    log_file = os.environ.get("BENCH_RETRY_LOG")
    if log_file:  # count deadlock retries of units of work (backend.db logs each at INFO)
        import logging

        handler = logging.FileHandler(log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(message)s"))
        retries = logging.getLogger("backend.db")
        retries.setLevel(logging.INFO)
        retries.addHandler(handler)
    bp = Blueprint("bench_baseline", __name__, url_prefix="/bench")

    @route(bp, "/baseline", method="POST", auth=None, raw=True)
    def baseline() -> Response:
        """One unit of work with one INSERT (same routing, auth, unit of work and commit)."""
        body = request.get_data(cache=True)
        db.session.execute(text("INSERT INTO bench_baseline (size, created_at) VALUES (:n, NOW(6))"),
                           {"n": len(body)})
        return Response(status=204)

    app.register_blueprint(bp)
    return app


# ---------------------------------------------------------------- the client side


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else 0.0


def fire(wires: list[Any], concurrency: int) -> dict[str, Any]:
    """POST every prepared request with `concurrency` keep-alive clients; the rate and
    latencies of the whole batch."""
    import requests

    local = threading.local()
    latencies: list[float] = [0.0] * len(wires)
    statuses: list[int] = [0] * len(wires)

    def one(i: int) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        w = wires[i]
        t0 = time.perf_counter()
        try:
            res = session.post(w.url, data=w.body, headers=dict(w.headers), timeout=60)
            statuses[i] = res.status_code
        except requests.RequestException:
            statuses[i] = -1
        latencies[i] = time.perf_counter() - t0

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(len(wires))))
    elapsed = time.perf_counter() - start
    return {"requests": len(wires), "seconds": round(elapsed, 3), "per_second": round(len(wires) / elapsed, 1),
            "p50_ms": round(pct(latencies, 50) * 1000, 1), "p95_ms": round(pct(latencies, 95) * 1000, 1),
            "statuses": dict(Counter(statuses))}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), 0 when unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _mariadb_pid() -> int | None:
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() in ("mariadbd", "mysqld"):
                    return int(d.name)
            except OSError:
                continue
    return None


class CpuMeter:
    """CPU seconds spent by the server's workers, the follow-up worker, MariaDB and this
    client during a phase (MariaDB is shared with anything else using it on the machine)."""

    def __init__(self, server_pid: int, followup_pid: int | None) -> None:
        self.server_pid = server_pid
        self.followup_pid = followup_pid
        self.db_pid = _mariadb_pid()

    def sample(self) -> dict[str, float]:
        workers = [self.server_pid, *_children(self.server_pid)]
        return {"server": sum(_cpu_seconds(p) for p in workers),
                "followup": _cpu_seconds(self.followup_pid) if self.followup_pid else 0.0,
                "mariadb": _cpu_seconds(self.db_pid) if self.db_pid else 0.0,
                "client": sum(os.times()[:2])}

    def measure(self, fn: Any, *args: Any) -> dict[str, Any]:
        before = self.sample()
        result = fn(*args)
        after = self.sample()
        n = result["requests"]
        result["cpu_ms_per_request"] = {k: round((after[k] - before[k]) / n * 1000, 2) for k in before}
        return result


class Backlog:
    """A worker's backlog (by default the paid-order follow-up's), read from the
    client's own connection: `count_sql` counts what still waits."""

    def __init__(self, url: str, count_sql: str = "SELECT COUNT(*) FROM orders WHERE followup_pending = 1",
                 what: str = "the follow-up backlog") -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(url, pool_size=1)
        self.count_sql = count_sql
        self.what = what

    def pending(self) -> int:
        from sqlalchemy import text

        with self.engine.connect() as c:
            return int(c.execute(text(self.count_sql)).scalar() or 0)

    def wait_empty(self, timeout: float = 600) -> float:
        """Poll until nothing waits; the time it took."""
        t0 = time.perf_counter()
        while self.pending():
            if time.perf_counter() - t0 > timeout:
                raise SystemExit(f"{self.what} did not drain")
            time.sleep(0.02)
        return time.perf_counter() - t0


def end_to_end(wires: list[Any], concurrency: int, backlog: Backlog) -> dict[str, Any]:
    """Post every notification, then wait until every paid order's follow-up (rewards,
    ledger, alerts) is done: the rate counts both, from the first post to the drained
    backlog. `accepted_per_second` is the posting alone."""
    start = time.perf_counter()
    result = fire(wires, concurrency)
    drained_after = backlog.wait_empty()
    elapsed = time.perf_counter() - start
    result["accepted_per_second"] = result["per_second"]
    result["drain_after_last_answer_s"] = round(drained_after, 3)
    result["seconds"] = round(elapsed, 3)
    result["per_second"] = round(len(wires) / elapsed, 1)
    return result


Job = Callable[[Any], list[int]]  # one client job on a keep-alive session: its HTTP statuses


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def run_jobs(jobs: list[Job], concurrency: int) -> dict[str, Any]:
    """Run every job with `concurrency` keep-alive clients; rate and latencies (a job's
    latency is all of its requests)."""
    import requests

    local = threading.local()
    latencies = [0.0] * len(jobs)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def one(i: int) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        t0 = time.perf_counter()
        try:
            got = jobs[i](session)
        except requests.RequestException:
            got = [-1]
        latencies[i] = time.perf_counter() - t0
        with lock:
            statuses.update(got)

    load_before = load()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(len(jobs))))
    elapsed = time.perf_counter() - start
    return {"requests": len(jobs), "seconds": round(elapsed, 3), "per_second": round(len(jobs) / elapsed, 1),
            "p50_ms": round(pct(latencies, 50) * 1000, 1), "p95_ms": round(pct(latencies, 95) * 1000, 1),
            "statuses": dict(statuses), "load": f"{load_before} → {load()}", "_lat": latencies}


def wait_up(url: str, seconds: float = 60) -> None:
    import requests

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            requests.get(url + "/healthz", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit("the server did not start")


def prepare_database(mysql_url: str) -> str:
    """Recreate the benchmark's database, migrate it, and add the baseline's table."""
    from sqlalchemy import create_engine, text

    from backend.migrate import recreate_mysql_database, upgrade
    from backend.models_registry import import_all_models

    url = recreate_mysql_database(mysql_url)
    upgrade(url)
    import_all_models()
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE bench_baseline (id BIGINT AUTO_INCREMENT PRIMARY KEY, size INT NOT NULL,"
                       " created_at DATETIME(6) NOT NULL) ENGINE=InnoDB"))
    engine.dispose()
    return url


def start_server(port: int, env: dict[str, str], *, workers: int, threads: int,
                 app: str = "benchmarks.bench_payments:wsgi_app()") -> subprocess.Popen[bytes]:
    """gunicorn with gthread workers serving the product plus the baseline endpoint."""
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", str(workers), "-k", "gthread",
         "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning", app],
        cwd=str(ROOT), env=env)


def start_jobs(env: dict[str, str], jobs: str) -> subprocess.Popen[bytes]:
    """A scheduler process running only these jobs (comma-separated names)."""
    return subprocess.Popen([str(ROOT / ".venv" / "bin" / "python"), "-m", "backend.jobs", "--only", jobs],
                            cwd=str(ROOT), env=env)


def baseline_requests(server: str, template: Any, count: int) -> list[Any]:
    """`count` POSTs to the one-INSERT endpoint, each the size of `template` (a push)."""
    from backend.wechat.sandbox.records import WireRequest

    return [WireRequest("POST", f"{server}/bench/baseline", template.headers, template.body) for _ in range(count)]


# ---------------------------------------------------------------- setup


def build(app: Any, sandbox: Any, server: str, *, chains: int, orders_n: int, seed: int) -> dict[str, Any]:
    """Tenant, 3+3 plan, chains of depth 10, products; then orders prepaid and paid at
    the sandbox: their notifications, in creation order."""
    from backend.catalog import service as catalog
    from backend.db import unit_of_work, utcnow
    from backend.extensions import db
    from backend.flows import catalog as catalog_flow
    from backend.members import service as members
    from backend.members.models import Member
    from backend.orders import service as orders
    from backend.payments import service as payments
    from backend.rewards import service as rewards
    from backend.tenants.service import create_tenant
    from backend.wechat.demo import demo_credentials

    rnd = random.Random(seed)
    plan_doc = json.loads(PLAN_FILE.read_text(encoding="utf-8"))["plan"]
    tiers = [t["key"] for t in plan_doc["distribution"]["tiers"]]
    levels = [None, None, "l3", "l3", "l2", "l1"]
    now = utcnow()
    with app.app_context():
        with unit_of_work():
            creds = demo_credentials(SLUG, pay_notify_url=f"{server}/api/v1/pay/notify/{SLUG}")
            tenant = create_tenant(slug=SLUG, name="压测品牌", credentials=creds.to_flat(), actor="bench")
            row = rewards.save_plan_version(tenant_id=tenant.id, document=plan_doc, actor="bench")
            rewards.activate_plan(tenant_id=tenant.id, version=row.version, actor="bench", now=now)
            tid = tenant.id
            skus = []
            for name, price, cost in (("明前龙井", 12800, 5000), ("紫砂品茗杯", 3900, 1200)):
                p = catalog_flow.create_product(tenant_id=tid, name=name, on_shelf=True, actor="bench", skus=[
                    catalog.SkuSpec(name="标准", price_fen=price, cost_fen=cost, stock=1_000_000)])
                skus.append(catalog.skus_of(tenant_id=tid, product_ids=[p.id])[p.id][0].id)
        buyers = []
        n = 0
        for _ in range(chains):
            with unit_of_work():
                parent = None
                for depth in range(11):  # 10 uplines above the buyer
                    n += 1
                    m = members.upsert_member(tenant_id=tid, openid=f"bench-openid-{n}", nickname=f"会员{n}", now=now)
                    if parent is not None:
                        members.bind_member(tenant_id=tid, member_id=m.id, parent_id=parent.id, source="share",
                                            scene=None, now=now)
                    if depth < 10:
                        m.promoter_tier = rnd.choice(tiers)
                        m.agent_level = rnd.choice(levels)
                    parent = m
                buyers.append(parent.id)
        made = []
        for i in range(orders_n):
            items = [orders.LineRequest(sku_id=skus[0], quantity=rnd.randint(1, 3))]
            if i % 3 == 0:
                items.append(orders.LineRequest(sku_id=skus[1], quantity=1))
            with unit_of_work():
                order = orders.create_order(tenant_id=tid, member_id=rnd.choice(buyers), items=items,
                                            receiver=orders.Receiver(name="张三", phone="13800138000",
                                                                     address="上海市黄浦区南京东路 1 号"),
                                            now=utcnow())
                payments.prepay(tenant_id=tid, member_id=order.member_id, order_id=order.id, now=utcnow())
                made.append((order.id, order.order_no, len(items)))
        notifications = [sandbox.pay_order(no) for _, no, _ in made]
        depth = max(len(m.ancestor_ids()) for m in db.session.query(Member).filter(Member.id.in_(buyers[:5])))
    return {"tenant_id": tid, "orders": made, "notifications": notifications, "chain_depth": depth}


def verify(app: Any, tenant_id: int, orders_made: list[tuple[int, str, int]]) -> dict[str, Any]:
    """Every order paid once, one reward line per order line, no duplicate payout, and
    the ledger (when present) balanced and equal to its entries."""
    from sqlalchemy import func, select

    from backend.extensions import db
    from backend.orders.models import Order
    from backend.rewards.models import Payout, RewardLine

    ids = [o for o, _, _ in orders_made]
    with app.app_context():
        paid = db.session.scalar(select(func.count()).select_from(Order).where(Order.id.in_(ids),
                                                                              Order.status == "paid"))
        pending = db.session.scalar(select(func.count()).select_from(Order).where(
            Order.id.in_(ids), Order.followup_pending.is_(True)))
        reward_lines = db.session.scalar(select(func.count()).select_from(RewardLine).where(
            RewardLine.order_id.in_(ids)))
        payouts, distinct = db.session.execute(select(
            func.count(), func.count(func.distinct(func.concat(Payout.order_line_id, ":", Payout.beneficiary_key,
                                                               ":", Payout.kind))))
            .where(Payout.order_id.in_(ids))).one()
        member_fen = db.session.scalar(select(func.coalesce(func.sum(Payout.amount_fen), 0)).where(
            Payout.order_id.in_(ids), Payout.beneficiary_id.is_not(None))) or 0
        out: dict[str, Any] = {
            "orders": len(ids), "paid": paid, "followup_pending": pending, "order_lines": sum(n for _, _, n in orders_made),
            "reward_lines": reward_lines, "payouts": payouts, "duplicate_payouts": payouts - distinct,
            "rewards_to_members_fen": int(member_fen)}
        try:
            from backend.ledger import service as ledger
        except ImportError:
            out["ledger"] = "not installed"
            return out
        from backend.ledger.models import LedgerAccount, LedgerBalance

        frozen = db.session.scalar(
            select(func.coalesce(func.sum(LedgerBalance.balance_fen), 0))
            .join(LedgerAccount, LedgerAccount.id == LedgerBalance.account_id)
            .where(LedgerAccount.tenant_id == tenant_id, LedgerAccount.kind == "member_frozen")) or 0
        all_rewards = db.session.scalar(select(func.coalesce(func.sum(Payout.amount_fen), 0)).where(
            Payout.tenant_id == tenant_id, Payout.beneficiary_id.is_not(None))) or 0
        # Every order of the tenant is paid and none settled: frozen = all member payouts.
        out["frozen_equals_all_member_payouts"] = int(frozen) == int(all_rewards)
        report = ledger.check_ledger(tenant_id=tenant_id)
        out["ledger"] = {"ok": report.ok, "postings": report.postings, "entries": report.entries,
                         "entries_total_fen": report.entries_total_fen,
                         "balances_total_fen": report.balances_total_fen,
                         "differences": len(report.differences)}
        db.session.rollback()
    return out


# ---------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1000, help="orders paid once in the timed run")
    ap.add_argument("--storm", type=int, default=200, help="orders whose notification is sent 10× shuffled")
    ap.add_argument("--chains", type=int, default=60, help="chains of depth 10 (buyers at their ends)")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--threads", type=int, default=6)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/siyu_bench_payments")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    ap.add_argument("--app", default="benchmarks.bench_payments:wsgi_app()", help="gunicorn app (experiments)")
    ap.add_argument("--followup", choices=("worker", "inline"), default="worker",
                    help="PAID_FOLLOWUP: a worker process drains the backlog in batches, or each request "
                         "runs its order's follow-up after committing the payment")
    args = ap.parse_args()

    url = prepare_database(args.mysql)

    from backend.config import load_settings
    from backend.wechat.sandbox import start_sandbox
    from miniprogram_api import create_web_app

    sandbox = start_sandbox(port=0)
    port = free_port()
    server = f"http://127.0.0.1:{port}"
    retry_log = OUT / "payments_retries.log"
    OUT.mkdir(exist_ok=True)
    retry_log.unlink(missing_ok=True)
    env = {**os.environ, "BENCH_RETRY_LOG": str(retry_log), "DATABASE_URL": url, "REDIS_URL": args.redis, "SECRET_KEY": SECRET,
           "WECHAT_MODE": "sandbox", "WECHAT_SANDBOX_URL": sandbox.url, "PUBLIC_BASE_URL": server,
           "PAID_FOLLOWUP": args.followup,
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    app = create_web_app(load_settings(env))

    warm_n = 40
    t0 = time.perf_counter()
    built = build(app, sandbox, server, chains=args.chains, orders_n=warm_n + args.orders + args.storm,
                  seed=args.seed)
    setup_s = time.perf_counter() - t0
    made, notes = built["orders"], built["notifications"]
    warm = (made[:warm_n], notes[:warm_n])
    timed = (made[warm_n:warm_n + args.orders], notes[warm_n:warm_n + args.orders])
    storm = (made[warm_n + args.orders:], notes[warm_n + args.orders:])

    gunicorn = start_server(port, env, workers=args.workers, threads=args.threads, app=args.app)
    # The follow-up worker: the scheduler process running only that job.
    followup = start_jobs(env, "orders.follow_up_paid_orders") if args.followup == "worker" else None
    backlog = Backlog(url)
    try:
        wait_up(server)

        def sign(ns: list[Any], times: int = 1) -> list[Any]:
            return [sandbox.build_notification_request(n) for n in ns for _ in range(times)]

        def baseline_wires(count: int) -> list[Any]:
            return baseline_requests(server, sign(notes[:1])[0], count)

        fire(baseline_wires(200), args.concurrency)  # warm every worker
        end_to_end(sign(warm[1]), args.concurrency, backlog)
        results: dict[str, Any] = {"setup_seconds": round(setup_s, 1), "chain_depth": built["chain_depth"],
                                   "followup": args.followup, "workers": args.workers, "threads": args.threads,
                                   "concurrency": args.concurrency, "cpus": os.cpu_count()}
        meter = CpuMeter(gunicorn.pid, followup.pid if followup else None)
        base1 = meter.measure(fire, baseline_wires(args.orders), args.concurrency)
        pay_wires = sign(timed[1])
        payments_run = meter.measure(end_to_end, pay_wires, args.concurrency, backlog)
        base2 = meter.measure(fire, baseline_wires(args.orders), args.concurrency)
        storm_wires = sign(storm[1], 10)
        random.Random(args.seed).shuffle(storm_wires)
        storm_run = meter.measure(end_to_end, storm_wires, args.concurrency, backlog)
    finally:
        for proc in (gunicorn, followup):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
        backlog.engine.dispose()
        sandbox.stop()

    baseline = statistics.mean([base1["per_second"], base2["per_second"]])
    results["deadlock_retries"] = (sum(1 for line in retry_log.read_text().splitlines() if "retrying" in line)
                                   if retry_log.exists() else 0)
    results.update(
        baseline_first=base1, payments=payments_run, baseline_second=base2,
        ratio_vs_baseline=round(payments_run["per_second"] / baseline, 3),
        storm=storm_run,
        verify_timed=verify(app, built["tenant_id"], timed[0]),
        verify_storm=verify(app, built["tenant_id"], storm[0]),
    )
    OUT.mkdir(exist_ok=True)
    out = OUT / f"payments_{args.orders}_{args.storm}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\nbaseline (one insert): {baseline:.1f}/s   paid notifications: {payments_run['per_second']:.1f}/s"
          f"   ratio {results['ratio_vs_baseline']:.2f}   storm: {storm_run['per_second']:.1f} deliveries/s")


if __name__ == "__main__":
    main()
