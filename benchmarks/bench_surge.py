"""Follower surges and the hottest read, from outside, against baselines of the same run.

    ./dev bench surge                          # defaults below, MariaDB on 127.0.0.1:3306
    ./dev bench surge --followers 2000 --workers 4 --concurrency 16

A real HTTP server (gunicorn, the product's app plus the one-INSERT baseline endpoint
of bench_payments.py) with OA_INBOX=worker and MP_BIND_INBOX=worker (`--mp-bind
inline` binds in the request instead), and a second process, `python -m backend.jobs
--only oa.bind_followers,members.bind_requests,members.fold_team_counters`, binding
both inboxes in batches. Setup (not
timed): a tenant whose official account the WeChat sandbox knows, promoters, a
catalog of on-shelf products, and one correctly signed subscribe push per new
follower (EventKey qrscene_i=<promoter's invite code>), signed before the clock
starts so the client only posts.

Timed, in one run, with concurrent keep-alive clients:
1. one-INSERT baseline → OA subscribe pushes → mini-program scene bindings
   (POST /api/v1/mp/me/bind, each a different member's token) under eight promoters
   in ONE tree and under eight promoters in eight separate trees (same depth; ABBA
   order) → baseline again: each rate against the baseline's mean, its p95, the
   end-to-end rates (until the worker has bound every follower / binder) and the
   one-tree rate against the many-roots rate;
2. GET /healthz → GET /api/v1/mp/shop/products (a member's token) → /healthz again.

Then the checks: every follower and every mini-program binder is a member bound
exactly once under the promoter of its scene, no inbox event pending, and every
promoter's and root's team counters (row + pending deltas) equal the members whose
path runs through it. The database `bench_surgeperf_surge` is recreated.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_payments import (  # noqa: E402
    Backlog,
    CpuMeter,
    baseline_requests,
    fire,
    free_port,
    prepare_database,
    run_jobs,
    start_jobs,
    start_server,
    wait_up,
)

OUT = Path(__file__).parent / "out"
SECRET = "bench-surge-secret-0123456789"
SLUG = "benchsurge"


def fire_get(url: str, headers: dict[str, str], count: int, concurrency: int) -> dict[str, Any]:
    """GET one URL `count` times with `concurrency` keep-alive clients."""
    result = run_jobs([lambda s: [s.get(url, headers=headers, timeout=60).status_code]] * count, concurrency)
    result.pop("_lat")
    return result


def inbox(url: str) -> Backlog:
    """The OA inbox's backlog, read from the client's own connection."""
    return Backlog(url, "SELECT COUNT(*) FROM oa_inbox WHERE pending = 1", "the OA inbox")


def bind_inbox(url: str) -> Backlog:
    """The mini-program binding inbox's backlog (empty with --mp-bind inline)."""
    return Backlog(url, "SELECT COUNT(*) FROM member_bind_inbox WHERE pending = 1", "the binding inbox")


def surge(wires: list[Any], concurrency: int, backlog: Backlog) -> dict[str, Any]:
    """Post every push (or binding request); `per_second` is the endpoint's (answered)
    rate, `bound_per_second` counts until the worker bound the last one."""
    start = time.perf_counter()
    result = fire(wires, concurrency)
    drained_after = backlog.wait_empty()
    elapsed = time.perf_counter() - start
    result["drain_after_last_answer_s"] = round(drained_after, 3)
    result["bound_per_second"] = round(len(wires) / elapsed, 1)
    return result


def build(app: Any, sandbox: Any, server: str, *, promoters: int, followers: int, binders: int,
          products: int) -> dict[str, Any]:
    from backend.auth.tokens import issue_token
    from backend.catalog import service as catalog
    from backend.db import unit_of_work, utcnow
    from backend.flows import catalog as catalog_flow
    from backend.members import service as members
    from backend.tenants.service import create_tenant
    from backend.wechat.demo import demo_credentials
    from backend.wechat.sandbox.records import HttpResult, WireRequest
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

            def bound_under(root: Any, name: str) -> Any:
                m = members.upsert_member(tenant_id=tid, openid=name, nickname=name, now=now)
                members.bind_member(tenant_id=tid, member_id=m.id, parent_id=root.id, source="manual", scene=None,
                                    now=now)
                return m

            # Mini-program promoters at the same depth: eight under ONE root, and eight
            # under eight roots of their own.
            one_root = members.upsert_member(tenant_id=tid, openid="tree-root", nickname="总店", now=now)
            tree = {"one": [bound_under(one_root, f"one-{i}") for i in range(8)],
                    "many": [bound_under(members.upsert_member(tenant_id=tid, openid=f"root-{i}", now=now),
                                         f"many-{i}") for i in range(8)]}
            mp: dict[str, list[Any]] = {"one": [], "many": []}
            mp_expected: dict[int, int] = {}
            for kind, parents in tree.items():
                for i in range(binders):
                    fan = members.upsert_member(tenant_id=tid, openid=f"mp-{kind}-{i}", nickname="粉丝", now=now)
                    parent = parents[i % len(parents)]
                    mp_expected[fan.id] = parent.id
                    auth = issue_token(kind="member", tenant_id=tid, subject_id=fan.id, version=fan.token_version)
                    mp[kind].append(WireRequest(
                        "POST", f"{server}/api/v1/mp/me/bind",
                        (("Authorization", f"Bearer {auth}"), ("Content-Type", "application/json")),
                        json.dumps({"source": "share", "scene": f"i={parent.invite_code}"}).encode()))
            roots = [one_root.id, *(m.parent_id for m in tree["many"])]
            promoter_ids = [*codes, *(m.id for ms in tree.values() for m in ms), *roots]
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
    return {"tenant_id": tid, "token": token, "pushes": captured, "expected": expected, "promoters": promoter_ids,
            "mp": mp, "mp_expected": mp_expected}


def verify(url: str, tenant_id: int, expected: dict[str, int], mp_expected: dict[int, int],
           promoters: list[int]) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as c:
        rows = c.execute(text("SELECT id, oa_openid, parent_id FROM members WHERE tenant_id = :t AND oa_openid "
                              "IS NOT NULL"), {"t": tenant_id}).all()
        by_openid = {r.oa_openid: r for r in rows}
        parent_of = dict(c.execute(text("SELECT id, parent_id FROM members WHERE tenant_id = :t"),
                                   {"t": tenant_id}).all())
        bindings = Counter(r[0] for r in c.execute(text(
            "SELECT member_id FROM member_bindings WHERE tenant_id = :t"), {"t": tenant_id}))
        pending = c.execute(text("SELECT COUNT(*) FROM oa_inbox WHERE pending = 1")).scalar()
        pending += c.execute(text("SELECT COUNT(*) FROM member_bind_inbox WHERE pending = 1")).scalar()
        refused = c.execute(text("SELECT COUNT(*) FROM member_bind_inbox WHERE outcome <> 'bound'")).scalar()
        deltas = c.execute(text("SELECT COUNT(*) FROM member_team_deltas")).scalar()
        counters_ok = True
        for pid in promoters:
            # The counters as every read sees them: the row plus its deltas not folded yet.
            total, l1 = c.execute(text(
                "SELECT m.team_total + COALESCE((SELECT SUM(total) FROM member_team_deltas WHERE member_id = m.id), 0),"
                " m.team_l1 + COALESCE((SELECT SUM(l1) FROM member_team_deltas WHERE member_id = m.id), 0)"
                " FROM members m WHERE m.id = :i"), {"i": pid}).one()
            below = c.execute(text("SELECT COUNT(*) FROM members WHERE tenant_id = :t AND path LIKE :p AND id <> :i"),
                              {"t": tenant_id, "p": f"%/{pid}/%", "i": pid}).scalar()
            children = c.execute(text("SELECT COUNT(*) FROM members WHERE parent_id = :i"), {"i": pid}).scalar()
            counters_ok &= (total == below and l1 == children)
    engine.dispose()
    wrong_parent = sum(1 for o, p in expected.items() if o not in by_openid or by_openid[o].parent_id != p)
    not_once = sum(1 for o in expected if o in by_openid and bindings.get(by_openid[o].id, 0) != 1)
    mp_wrong = sum(1 for m, p in mp_expected.items() if parent_of.get(m) != p)
    mp_not_once = sum(1 for m in mp_expected if bindings.get(m, 0) != 1)
    return {"followers": len(expected), "members": len(by_openid), "wrong_or_missing_parent": wrong_parent,
            "not_bound_exactly_once": not_once, "mp_binders": len(mp_expected), "mp_wrong_parent": mp_wrong,
            "mp_not_bound_exactly_once": mp_not_once, "inbox_pending": int(pending or 0),
            "mp_requests_not_bound": int(refused or 0),
            "deltas_not_folded_yet": int(deltas or 0), "counters_equal_paths": counters_ok,
            "ok": bool(wrong_parent == 0 and not_once == 0 and len(by_openid) == len(expected) and not pending
                       and mp_wrong == 0 and mp_not_once == 0 and not refused and counters_ok)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--followers", type=int, default=2000, help="new followers, one signed subscribe each")
    ap.add_argument("--binders", type=int, default=1000,
                    help="mini-program members binding by scene, per kind of tree (one tree, many roots)")
    ap.add_argument("--promoters", type=int, default=8)
    ap.add_argument("--products", type=int, default=20)
    ap.add_argument("--reads", type=int, default=2000, help="GETs per read phase")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/bench_surgeperf_surge")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    ap.add_argument("--mp-bind", choices=("worker", "inline"), default="worker",
                    help="MP_BIND_INBOX: mini-program bindings queued for the worker, or bound in the request")
    ap.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    ap.add_argument("--sandbox-port", type=int, default=0, help="the WeChat sandbox's port (default: a free one)")
    args = ap.parse_args()

    url = prepare_database(args.mysql)
    import redis

    redis.Redis.from_url(args.redis).flushdb()

    from backend.config import load_settings
    from backend.wechat.sandbox import start_sandbox
    from miniprogram_api import create_web_app

    sandbox = start_sandbox(port=args.sandbox_port)
    port = args.port or free_port()
    server = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis, "SECRET_KEY": SECRET,
           "WECHAT_MODE": "sandbox", "WECHAT_SANDBOX_URL": sandbox.url, "PUBLIC_BASE_URL": server,
           "OA_INBOX": "worker", "MP_BIND_INBOX": args.mp_bind, "RATE_LIMITS": "",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    app = create_web_app(load_settings(env))
    warm_n = 100
    t0 = time.perf_counter()
    built = build(app, sandbox, server, promoters=args.promoters, followers=warm_n + args.followers,
                  binders=warm_n + args.binders, products=args.products)
    setup_s = time.perf_counter() - t0
    warm, timed = built["pushes"][:warm_n], built["pushes"][warm_n:]
    mp = {k: (v[:warm_n], v[warm_n:]) for k, v in built["mp"].items()}

    gunicorn = start_server(port, env, workers=args.workers, threads=args.threads)
    worker = start_jobs(env, "oa.bind_followers,members.bind_requests,members.fold_team_counters")
    backlog, binds = inbox(url), bind_inbox(url)
    load_before = os.getloadavg()
    try:
        wait_up(server, 300)  # four workers importing the app on a loaded machine

        def baseline_wires(count: int) -> list[Any]:
            return baseline_requests(server, timed[0], count)

        fire(baseline_wires(200), args.concurrency)  # warm every worker
        surge(warm, args.concurrency, backlog)
        surge(mp["one"][0] + mp["many"][0], args.concurrency, binds)
        member = {"Authorization": f"Bearer {built['token']}"}
        fire_get(f"{server}/api/v1/mp/shop/products", member, 200, args.concurrency)
        meter = CpuMeter(gunicorn.pid, worker.pid)
        results: dict[str, Any] = {"setup_seconds": round(setup_s, 1), "workers": args.workers,
                                   "threads": args.threads, "concurrency": args.concurrency,
                                   "followers": args.followers, "binders_per_tree_kind": args.binders,
                                   "promoters": args.promoters, "cpus": os.cpu_count(), "mp_bind": args.mp_bind}
        base1 = meter.measure(fire, baseline_wires(args.followers), args.concurrency)
        surge_run = meter.measure(surge, timed, args.concurrency, backlog)
        half = args.binders // 2
        many_a = meter.measure(surge, mp["many"][1][:half], args.concurrency, binds)
        one_a = meter.measure(surge, mp["one"][1][:half], args.concurrency, binds)
        one_b = meter.measure(surge, mp["one"][1][half:], args.concurrency, binds)
        many_b = meter.measure(surge, mp["many"][1][half:], args.concurrency, binds)
        base2 = meter.measure(fire, baseline_wires(args.followers), args.concurrency)
        health1 = fire_get(f"{server}/healthz", {}, args.reads, args.concurrency)
        products = fire_get(f"{server}/api/v1/mp/shop/products", member, args.reads, args.concurrency)
        health2 = fire_get(f"{server}/healthz", {}, args.reads, args.concurrency)
        time.sleep(1.5)  # one fold after the last binding (the checks read row + deltas either way)
    finally:
        for proc in (gunicorn, worker):
            proc.terminate()
            proc.wait(timeout=30)
        backlog.engine.dispose()
        binds.engine.dispose()
        sandbox.stop()
    load_after = os.getloadavg()

    def combined(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        n = a["requests"] + b["requests"]
        secs = a["seconds"] + b["seconds"]
        # until the worker bound the last one: each phase's answered time plus its drain
        bound_secs = sum(x["requests"] / x["bound_per_second"] for x in (a, b))
        return {"requests": n, "seconds": round(secs, 3), "per_second": round(n / secs, 1),
                "bound_per_second": round(n / bound_secs, 1),
                "cpu_ms_per_request_phases": [a.get("cpu_ms_per_request"), b.get("cpu_ms_per_request")],
                "p95_ms": max(a["p95_ms"], b["p95_ms"]), "statuses": dict(Counter(a["statuses"]) + Counter(b["statuses"])),
                "cpu_ms_per_request": a.get("cpu_ms_per_request")}

    baseline = statistics.mean([base1["per_second"], base2["per_second"]])
    health = statistics.mean([health1["per_second"], health2["per_second"]])
    one, many = combined(one_a, one_b), combined(many_a, many_b)
    results.update(
        load_average_before=[round(x, 2) for x in load_before], load_average_after=[round(x, 2) for x in load_after],
        baseline_first=base1, surge=surge_run, mp_bind_many_roots=many, mp_bind_one_tree=one, baseline_second=base2,
        surge_ratio=round(surge_run["per_second"] / baseline, 3),
        bound_ratio=round(surge_run["bound_per_second"] / baseline, 3),
        mp_many_roots_ratio=round(many["per_second"] / baseline, 3),
        mp_one_tree_ratio=round(one["per_second"] / baseline, 3),
        mp_many_roots_bound_ratio=round(many["bound_per_second"] / baseline, 3),
        mp_one_tree_bound_ratio=round(one["bound_per_second"] / baseline, 3),
        one_tree_vs_many_roots=round(one["per_second"] / many["per_second"], 3),
        one_tree_vs_many_roots_bound=round(one["bound_per_second"] / many["bound_per_second"], 3),
        healthz_first=health1, products=products, healthz_second=health2,
        products_ratio=round(products["per_second"] / health, 3),
        verify=verify(url, built["tenant_id"], built["expected"], built["mp_expected"], built["promoters"]),
    )
    OUT.mkdir(exist_ok=True)
    (OUT / f"surge_{args.followers}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\nload average before {results['load_average_before']}, after {results['load_average_after']}")
    print(f"one-insert baseline {baseline:.1f}/s")
    print(f"OA subscribe pushes: {surge_run['per_second']:.1f}/s answered (p95 {surge_run['p95_ms']} ms), "
          f"ratio {results['surge_ratio']:.2f}; bound end to end by the worker {surge_run['bound_per_second']:.1f}/s "
          f"(ratio {results['bound_ratio']:.2f})")
    print(f"mini-program scene bindings ({args.mp_bind}), answered: many roots {many['per_second']:.1f}/s "
          f"(p95 {many['p95_ms']} ms, ratio {results['mp_many_roots_ratio']:.2f}), one tree {one['per_second']:.1f}/s "
          f"(p95 {one['p95_ms']} ms, ratio {results['mp_one_tree_ratio']:.2f}); one tree / many roots "
          f"{results['one_tree_vs_many_roots']:.2f}")
    print(f"  bound end to end: many roots {many['bound_per_second']:.1f}/s (ratio "
          f"{results['mp_many_roots_bound_ratio']:.2f}), one tree {one['bound_per_second']:.1f}/s (ratio "
          f"{results['mp_one_tree_bound_ratio']:.2f}); one tree / many roots "
          f"{results['one_tree_vs_many_roots_bound']:.2f}")
    print(f"product list: {products['per_second']:.1f}/s (p95 {products['p95_ms']} ms) vs /healthz "
          f"{health:.1f}/s: ratio {results['products_ratio']:.2f}")
    print(f"checks: {'ok' if results['verify']['ok'] else 'FAILED'} {results['verify']}")
    if not results["verify"]["ok"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
