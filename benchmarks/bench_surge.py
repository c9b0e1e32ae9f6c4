"""Follower surges and the hottest read, from outside, against baselines of the same run.

    ./dev bench surge                          # defaults below, MariaDB on 127.0.0.1:3306
    ./dev bench surge --followers 2000 --workers 4 --concurrency 16

A real HTTP server (gunicorn, the product's app plus the one-INSERT baseline endpoint
of bench_payments.py) with OA_INBOX=worker, and a second process, `python -m
backend.jobs --only oa.bind_followers`, binding the inbox in batches. Setup (not
timed): a tenant whose official account the WeChat sandbox knows, promoters, a
catalog of on-shelf products, and one correctly signed subscribe push per new
follower (EventKey qrscene_i=<promoter's invite code>), signed before the clock
starts so the client only posts.

Timed, in one run, with concurrent keep-alive clients:
1. one-INSERT baseline → OA subscribe pushes → baseline again: the endpoint's rate
   (answered) against the baseline's mean, its p95, and the end-to-end rate (until
   the worker has bound every follower);
2. GET /healthz → GET /api/v1/mp/shop/products (a member's token) → /healthz again.

Then the checks: every follower is a member, bound exactly once under the promoter of
its scene, no inbox event pending, and every promoter's team counters equal the
members whose path runs through it. The database `siyu_bench_surge` is recreated.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_payments import CpuMeter, fire, free_port, pct, wait_up  # noqa: E402

OUT = Path(__file__).parent / "out"
SECRET = "bench-surge-secret-0123456789"
SLUG = "benchsurge"


def fire_get(url: str, headers: dict[str, str], count: int, concurrency: int) -> dict[str, Any]:
    """GET one URL `count` times with `concurrency` keep-alive clients."""
    import requests

    local = threading.local()
    latencies: list[float] = [0.0] * count
    statuses: list[int] = [0] * count

    def one(i: int) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        t0 = time.perf_counter()
        try:
            statuses[i] = session.get(url, headers=headers, timeout=60).status_code
        except requests.RequestException:
            statuses[i] = -1
        latencies[i] = time.perf_counter() - t0

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - start
    return {"requests": count, "seconds": round(elapsed, 3), "per_second": round(count / elapsed, 1),
            "p50_ms": round(pct(latencies, 50) * 1000, 1), "p95_ms": round(pct(latencies, 95) * 1000, 1),
            "statuses": dict(Counter(statuses))}


class Inbox:
    """The OA inbox's backlog, read from the client's own connection."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(url, pool_size=1)

    def pending(self) -> int:
        from sqlalchemy import text

        with self.engine.connect() as c:
            return int(c.execute(text("SELECT COUNT(*) FROM oa_inbox WHERE pending = 1")).scalar() or 0)

    def wait_empty(self, timeout: float = 600) -> float:
        t0 = time.perf_counter()
        while self.pending():
            if time.perf_counter() - t0 > timeout:
                raise SystemExit("the OA inbox did not drain")
            time.sleep(0.02)
        return time.perf_counter() - t0


def surge(wires: list[Any], concurrency: int, inbox: Inbox) -> dict[str, Any]:
    """Post every push; `per_second` is the endpoint's (answered) rate, `bound_per_second`
    counts until the worker bound the last follower."""
    start = time.perf_counter()
    result = fire(wires, concurrency)
    drained_after = inbox.wait_empty()
    elapsed = time.perf_counter() - start
    result["drain_after_last_answer_s"] = round(drained_after, 3)
    result["bound_per_second"] = round(len(wires) / elapsed, 1)
    return result


def build(app: Any, sandbox: Any, server: str, *, promoters: int, followers: int, products: int) -> dict[str, Any]:
    from backend.auth.tokens import issue_token
    from backend.catalog import service as catalog
    from backend.db import unit_of_work, utcnow
    from backend.flows import catalog as catalog_flow
    from backend.members import service as members
    from backend.tenants.service import create_tenant
    from backend.wechat.demo import demo_credentials
    from backend.wechat.sandbox.records import HttpResult
    from backend.wechat.service import credentials

    now = utcnow()
    with app.app_context():
        with unit_of_work():
            creds = demo_credentials(SLUG, pay_notify_url=f"{server}/api/v1/pay/notify/{SLUG}")
            tenant = create_tenant(slug=SLUG, name="压测品牌", credentials=creds.to_flat(), actor="bench")
            tid = tenant.id
            for i in range(products):
                catalog_flow.create_product(tenant_id=tid, name=f"商品{i}", on_shelf=True, actor="bench", skus=[
                    catalog.SkuSpec(name="标准", price_fen=1000 + i, cost_fen=500, stock=1_000_000)])
            proms = [members.upsert_member(tenant_id=tid, openid=f"bench-promoter-{i}", nickname=f"推广员{i}",
                                           now=now) for i in range(promoters)]
            buyer = members.upsert_member(tenant_id=tid, openid="bench-buyer", nickname="买家", now=now)
            codes = {p.id: p.invite_code for p in proms}
            token = issue_token(kind="member", tenant_id=tid, subject_id=buyer.id, version=buyer.token_version)
        wx = credentials(tenant_id=tid)
        sandbox.register_tenant(wx, oa_push_url=f"{server}/oa/{SLUG}")
        appid = wx.official_account.appid
    captured: list[Any] = []

    def keep(w: Any) -> Any:
        captured.append(w)
        return HttpResult(200, "success")

    expected = {}
    ids = list(codes)
    for i in range(followers):
        parent = ids[i % len(ids)]
        sandbox.oa_event(appid, f"surge-fan-{i}", "subscribe", event_key=f"qrscene_i={codes[parent]}", send=keep)
        expected[sandbox.openid_for(appid, f"surge-fan-{i}")] = parent
    return {"tenant_id": tid, "token": token, "pushes": captured, "expected": expected, "promoters": ids}


def verify(url: str, tenant_id: int, expected: dict[str, int], promoters: list[int]) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as c:
        rows = c.execute(text("SELECT id, oa_openid, parent_id FROM members WHERE tenant_id = :t AND oa_openid "
                              "IS NOT NULL"), {"t": tenant_id}).all()
        by_openid = {r.oa_openid: r for r in rows}
        bindings = Counter(r[0] for r in c.execute(text(
            "SELECT member_id FROM member_bindings WHERE tenant_id = :t"), {"t": tenant_id}))
        pending = c.execute(text("SELECT COUNT(*) FROM oa_inbox WHERE pending = 1")).scalar()
        counters_ok = True
        for pid in promoters:
            total, l1 = c.execute(text("SELECT team_total, team_l1 FROM members WHERE id = :i"), {"i": pid}).one()
            below = c.execute(text("SELECT COUNT(*) FROM members WHERE tenant_id = :t AND path LIKE :p AND id <> :i"),
                              {"t": tenant_id, "p": f"%/{pid}/%", "i": pid}).scalar()
            children = c.execute(text("SELECT COUNT(*) FROM members WHERE parent_id = :i"), {"i": pid}).scalar()
            counters_ok &= (total == below and l1 == children)
    engine.dispose()
    wrong_parent = sum(1 for o, p in expected.items() if o not in by_openid or by_openid[o].parent_id != p)
    not_once = sum(1 for o in expected if o in by_openid and bindings.get(by_openid[o].id, 0) != 1)
    return {"followers": len(expected), "members": len(by_openid), "wrong_or_missing_parent": wrong_parent,
            "not_bound_exactly_once": not_once, "inbox_pending": int(pending or 0), "counters_equal_paths": counters_ok,
            "ok": bool(wrong_parent == 0 and not_once == 0 and len(by_openid) == len(expected) and not pending
                       and counters_ok)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--followers", type=int, default=2000, help="new followers, one signed subscribe each")
    ap.add_argument("--promoters", type=int, default=8)
    ap.add_argument("--products", type=int, default=20)
    ap.add_argument("--reads", type=int, default=2000, help="GETs per read phase")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/siyu_bench_surge")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = ap.parse_args()

    from sqlalchemy import create_engine, text

    from backend.migrate import recreate_mysql_database, upgrade
    from backend.models_registry import import_all_models

    url = recreate_mysql_database(args.mysql)
    upgrade(url)
    import_all_models()
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE bench_baseline (id BIGINT AUTO_INCREMENT PRIMARY KEY, size INT NOT NULL,"
                       " created_at DATETIME(6) NOT NULL) ENGINE=InnoDB"))
    engine.dispose()
    import redis

    redis.Redis.from_url(args.redis).flushdb()

    from backend.config import load_settings
    from backend.wechat.sandbox import start_sandbox
    from backend.wechat.sandbox.records import WireRequest
    from miniprogram_api import create_web_app

    sandbox = start_sandbox(port=0)
    port = free_port()
    server = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis, "SECRET_KEY": SECRET,
           "WECHAT_MODE": "sandbox", "WECHAT_SANDBOX_URL": sandbox.url, "PUBLIC_BASE_URL": server,
           "OA_INBOX": "worker", "RATE_LIMITS": "",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    app = create_web_app(load_settings(env))
    warm_n = 100
    t0 = time.perf_counter()
    built = build(app, sandbox, server, promoters=args.promoters, followers=warm_n + args.followers,
                  products=args.products)
    setup_s = time.perf_counter() - t0
    warm, timed = built["pushes"][:warm_n], built["pushes"][warm_n:]

    gunicorn = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", str(args.workers), "-k", "gthread",
         "--threads", str(args.threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "benchmarks.bench_payments:wsgi_app()"], cwd=str(ROOT), env=env)
    worker = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "backend.jobs", "--only", "oa.bind_followers"],
        cwd=str(ROOT), env=env)
    inbox = Inbox(url)
    try:
        wait_up(server)
        template = timed[0]

        def baseline_wires(count: int) -> list[Any]:
            return [WireRequest("POST", f"{server}/bench/baseline", template.headers, template.body)
                    for _ in range(count)]

        fire(baseline_wires(200), args.concurrency)  # warm every worker
        surge(warm, args.concurrency, inbox)
        member = {"Authorization": f"Bearer {built['token']}"}
        fire_get(f"{server}/api/v1/mp/shop/products", member, 200, args.concurrency)
        meter = CpuMeter(gunicorn.pid, worker.pid)
        results: dict[str, Any] = {"setup_seconds": round(setup_s, 1), "workers": args.workers,
                                   "threads": args.threads, "concurrency": args.concurrency,
                                   "followers": args.followers, "promoters": args.promoters, "cpus": os.cpu_count()}
        base1 = meter.measure(fire, baseline_wires(args.followers), args.concurrency)
        surge_run = meter.measure(surge, timed, args.concurrency, inbox)
        base2 = meter.measure(fire, baseline_wires(args.followers), args.concurrency)
        health1 = fire_get(f"{server}/healthz", {}, args.reads, args.concurrency)
        products = fire_get(f"{server}/api/v1/mp/shop/products", member, args.reads, args.concurrency)
        health2 = fire_get(f"{server}/healthz", {}, args.reads, args.concurrency)
    finally:
        for proc in (gunicorn, worker):
            proc.terminate()
            proc.wait(timeout=30)
        inbox.engine.dispose()
        sandbox.stop()

    baseline = statistics.mean([base1["per_second"], base2["per_second"]])
    health = statistics.mean([health1["per_second"], health2["per_second"]])
    results.update(
        baseline_first=base1, surge=surge_run, baseline_second=base2,
        surge_ratio=round(surge_run["per_second"] / baseline, 3),
        bound_ratio=round(surge_run["bound_per_second"] / baseline, 3),
        healthz_first=health1, products=products, healthz_second=health2,
        products_ratio=round(products["per_second"] / health, 3),
        verify=verify(url, built["tenant_id"], built["expected"], built["promoters"]),
    )
    OUT.mkdir(exist_ok=True)
    (OUT / f"surge_{args.followers}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\nOA subscribe pushes: {surge_run['per_second']:.1f}/s answered (p95 {surge_run['p95_ms']} ms), "
          f"{surge_run['bound_per_second']:.1f}/s bound end to end; one-insert baseline {baseline:.1f}/s; "
          f"ratio {results['surge_ratio']:.2f} (bound {results['bound_ratio']:.2f})")
    print(f"product list: {products['per_second']:.1f}/s (p95 {products['p95_ms']} ms) vs /healthz "
          f"{health:.1f}/s: ratio {results['products_ratio']:.2f}")
    print(f"checks: {'ok' if results['verify']['ok'] else 'FAILED'} {results['verify']}")
    if not results["verify"]["ok"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
