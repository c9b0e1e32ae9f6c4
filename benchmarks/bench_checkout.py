"""Checkout with a coupon and points, end to end, against checkout without them.

    ./dev bench checkout                   # MariaDB on 127.0.0.1:3306, database siyu_bench_checkout
    ./dev bench checkout --sqlite          # a quick run on a SQLite file
    ./dev bench checkout --orders 300 --rounds 2

In process, through the product's own HTTP routes (Flask test client) and the local
WeChat sandbox (a real HTTP server). Setup (not timed): a tenant with the deck's 3-level
plan and a freight rule (8 yuan per order, free from 500 yuan: every order here pays
it), buyers at the bottom of 3-deep chains, two products; every buyer of the marketing
phases holds a 满100减30 coupon and 5,000 points.

An order's journey, timed as a whole and in parts:
1. POST /api/v1/mp/checkout/orders — baseline: `coupon: none`, no points; marketing:
   the best coupon picked and spread over the lines, 2,000 points spent within the cap;
2. POST /api/v1/mp/shop/orders/<id>/prepay (the gateway's JSAPI prepay at the sandbox);
3. the buyer pays at the sandbox and its signed TRANSACTION.SUCCESS notification is
   delivered to /api/v1/pay/notify/<tenant> (inline follow-up: rewards on the paid
   price, ledger postings, marketing's listeners).

Phases interleave (baseline, marketing, baseline, marketing …) so drift on a shared
machine hits both. Checks afterwards: every order paid once, each marketing order's
lines and freight sum to its payable, the coupons used and points spent match the orders, and the
points ledger agrees with its balances.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RECEIVER = {"name": "张三", "phone": "13800138000", "address": "上海市黄浦区南京东路 1 号"}
PLAN = {"name": "三级分销", "distribution": {"depth": 3, "base": "profit", "tiers": [
    {"key": "normal", "name": "普通推广员", "rates": ["30%", "20%", "10%"]}]}}
FREIGHT_FEN = 800


def build(url: str, sandbox_url: str) -> Any:
    from backend.config import load_settings
    from backend.migrate import recreate_mysql_database, upgrade
    from miniprogram_api import create_web_app

    if url.startswith("mysql"):
        recreate_mysql_database(url)
    upgrade(url)
    return create_web_app(load_settings({"DATABASE_URL": url, "WECHAT_MODE": "sandbox",
                                         "WECHAT_SANDBOX_URL": sandbox_url, "SECRET_KEY": "bench-checkout"}))


def setup(app: Any, buyers: int) -> dict[str, Any]:
    from backend.auth.tokens import issue_token
    from backend.catalog import service as catalog
    from backend.db import unit_of_work, utcnow
    from backend.flows import catalog as catalog_flow
    from backend.marketing import coupons, points
    from backend.members.service import bind_member, upsert_member
    from backend.orders import service as orders
    from backend.rewards import service as rewards
    from backend.tenants.service import create_tenant
    from backend.wechat.demo import demo_credentials

    now = utcnow()
    with app.app_context(), unit_of_work():
        slug = "benchcheckout"
        tenant = create_tenant(slug=slug, name="品牌", actor="bench", credentials=demo_credentials(
            slug, pay_notify_url=f"http://127.0.0.1/api/v1/pay/notify/{slug}").to_flat())
        row = rewards.save_plan_version(tenant_id=tenant.id, document=PLAN, actor="bench")
        rewards.activate_plan(tenant_id=tenant.id, version=row.version, actor="bench", now=now)
        orders.update_order_policy(tenant_id=tenant.id, changes={"freight_fen": FREIGHT_FEN,
                                                                 "free_freight_over_fen": 50000}, actor="bench")
        skus = []
        for name, price, category in (("明前龙井", 12800, "茶叶"), ("青瓷茶杯", 3900, "茶具")):
            spec = catalog.SkuSpec(name="标准", price_fen=price, cost_fen=price // 3, stock=10**6)
            p = catalog_flow.create_product(tenant_id=tenant.id, name=name, on_shelf=True, actor="bench",
                                            category=category, skus=[spec])
            skus.append(catalog.skus_of(tenant_id=tenant.id, product_ids=[p.id])[p.id][0].id)
        cid = coupons.create_coupon(tenant_id=tenant.id, actor="bench", spec=coupons.CouponSpec(
            name="满100减30", kind="threshold", amount_off_fen=3000, threshold_fen=10000, total_stock=10**6,
            valid_days=30, per_member_limit=10)).id
        people = []
        for i in range(buyers):
            chain = []
            for depth in range(4):
                m = upsert_member(tenant_id=tenant.id, openid=f"o-{i}-{depth}", nickname=f"会员{i}-{depth}", now=now)
                if chain:
                    bind_member(tenant_id=tenant.id, member_id=m.id, parent_id=chain[-1].id, source="share",
                                scene=None, now=now)
                chain.append(m)
            buyer = chain[-1]
            people.append(buyer.id)
        tenant_id = tenant.id
    with app.app_context(), unit_of_work():
        for i, member_id in enumerate(people):
            if i % 2:  # the odd buyers run the marketing phases
                coupons.issue_coupon(tenant_id=tenant_id, coupon_id=cid, member_id=member_id, source="grant", now=now)
                points.credit(tenant_id=tenant_id, member_id=member_id, points=5000, kind="grant",
                              key=f"bench:{member_id}", now=now, memo="基准")
    with app.app_context():
        headers = {m: {"Authorization": "Bearer " + issue_token(kind="member", tenant_id=tenant_id, subject_id=m)}
                   for m in people}
    return {"tenant_id": tenant_id, "slug": slug, "skus": skus, "buyers": people, "headers": headers}


def journey(app: Any, sandbox: Any, ctx: dict[str, Any], member_id: int, marketing: bool) -> tuple[float, float, int]:
    """One order's journey; (checkout seconds, whole journey seconds, order id)."""
    from backend.wechat.sandbox import flask_client_sender

    client = app.test_client()
    h = ctx["headers"][member_id]
    body = {"items": [{"sku_id": ctx["skus"][0], "quantity": 1}, {"sku_id": ctx["skus"][1], "quantity": 2}],
            "receiver": RECEIVER, "coupon": "best" if marketing else "none", "points": 2000 if marketing else 0}
    t0 = time.perf_counter()
    res = client.post("/api/v1/mp/checkout/orders", headers=h, json=body)
    t1 = time.perf_counter()
    assert res.status_code == 201, res.get_json()
    order = res.get_json()
    assert (order["coupon_fen"], order["points_used"]) == ((3000, 2000) if marketing else (0, 0)), order
    assert order["freight_fen"] == FREIGHT_FEN, order
    pre = client.post(f"/api/v1/mp/shop/orders/{order['id']}/prepay", headers=h)
    assert pre.status_code == 200, pre.get_json()
    (d,) = sandbox.deliver(sandbox.pay_order(order["order_no"]), send=flask_client_sender(client))
    assert d.result.status_code == 204, d.result.body
    t2 = time.perf_counter()
    return t1 - t0, t2 - t0, order["id"]


def check(app: Any, ctx: dict[str, Any], marketing_orders: list[int], all_orders: list[int]) -> None:
    from sqlalchemy import func, select

    from backend.extensions import db
    from backend.marketing import points
    from backend.marketing.models import MemberCoupon
    from backend.orders.models import Order, OrderLine

    with app.app_context():
        t = ctx["tenant_id"]
        paid = db.session.scalar(select(func.count()).select_from(Order).where(
            Order.id.in_(all_orders), Order.status == "paid", Order.paid_fen == Order.payable_fen))
        assert paid == len(all_orders), (paid, len(all_orders))
        for oid in marketing_orders[:200]:
            lines = db.session.scalar(select(func.sum(OrderLine.paid_fen)).where(OrderLine.order_id == oid))
            assert lines + FREIGHT_FEN == db.session.get(Order, oid).payable_fen
        used = db.session.scalar(select(func.count()).select_from(MemberCoupon).where(
            MemberCoupon.order_id.in_(marketing_orders), MemberCoupon.status == "used"))
        assert used == len(marketing_orders)
        assert points.check_points(tenant_id=t).mismatched == []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=200, help="orders per phase")
    parser.add_argument("--rounds", type=int, default=2, help="baseline/marketing pairs")
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    logging_off()
    from backend.wechat.sandbox import start_sandbox

    if args.sqlite:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench_checkout.sqlite"
    else:
        url = os.environ.get("BENCH_DATABASE_URL", "mysql+pymysql://root@127.0.0.1:3306/siyu_bench_checkout")
    sandbox = start_sandbox(port=0)
    try:
        app = build(url, sandbox.url)
        per_phase = args.orders
        ctx = setup(app, per_phase * 2)
        baseline_buyers = ctx["buyers"][0::2]
        marketing_buyers = ctx["buyers"][1::2]
        results: dict[str, list[tuple[float, float]]] = {"baseline": [], "marketing": []}
        orders: dict[str, list[int]] = {"baseline": [], "marketing": []}
        walls: dict[str, float] = {"baseline": 0.0, "marketing": 0.0}
        chunk = -(-per_phase // args.rounds)
        for r in range(args.rounds):
            for phase, buyers in (("baseline", baseline_buyers), ("marketing", marketing_buyers)):
                # every buyer places one order (a marketing buyer holds one coupon)
                start = time.perf_counter()
                for member_id in buyers[r * chunk:(r + 1) * chunk]:
                    c, j, oid = journey(app, sandbox, ctx, member_id, phase == "marketing")
                    results[phase].append((c, j))
                    orders[phase].append(oid)
                walls[phase] += time.perf_counter() - start
        check(app, ctx, orders["marketing"], orders["baseline"] + orders["marketing"])
        report(results, walls, url)
    finally:
        sandbox.stop()


def logging_off() -> None:
    import logging

    logging.disable(logging.WARNING)


def report(results: dict[str, list[tuple[float, float]]], walls: dict[str, float], url: str) -> None:
    def row(name: str, idx: int) -> tuple[float, float, float]:
        xs = sorted(v[idx] * 1000 for v in results[name])
        return statistics.median(xs), xs[int(0.95 * (len(xs) - 1))], len(xs) / walls[name] if idx else 0.0

    print(f"database: {url.split('://')[0]}; orders per phase: {len(results['baseline'])} / {len(results['marketing'])}")
    print("| measure | baseline p50 ms | marketing p50 ms | baseline p95 | marketing p95 | p50 ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, idx in (("checkout request", 0), ("whole journey (checkout, prepay, paid notification)", 1)):
        b, m = row("baseline", idx), row("marketing", idx)
        print(f"| {label} | {b[0]:.1f} | {m[0]:.1f} | {b[1]:.1f} | {m[1]:.1f} | {b[0] / m[0]:.2f}× |")
    rate_b = len(results["baseline"]) / walls["baseline"]
    rate_m = len(results["marketing"]) / walls["marketing"]
    print(f"journeys per second: baseline {rate_b:.1f}, with coupon and points {rate_m:.1f} "
          f"→ {rate_m / rate_b:.2f}× (aim ≥ 0.70×)")


if __name__ == "__main__":
    main()
