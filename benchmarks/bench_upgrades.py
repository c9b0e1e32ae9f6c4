"""Automatic upgrades at scale (SPEC §4.4): one tenant's whole pass, facts included,
at 1M members, against the per-member way (each member's facts read with its own
queries, then decided) measured on a sample in the same run.

    ./dev bench upgrades                  # 1,000,000 members on MariaDB (127.0.0.1:3306)
    ./dev bench upgrades --n 200000
    ./dev bench upgrades --sqlite --n 50000

The database `siyu_bench_upgrades` is dropped and recreated. A fifth of the members
bought (one order each, a tenth of those the level pack), 1 % recharged. The plan tests
every kind of fact: referrals (by level), own and team sales, pieces of a product,
cumulative recharge. The first pass moves everyone who qualifies (a mass upgrade);
the second is the steady state, where almost nobody moves.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402
from tqdm import tqdm  # noqa: E402

from benchmarks.treegen import grow_forest, insert_forest  # noqa: E402

OUT = Path(__file__).parent / "out"


def plan(pack_id: int) -> dict:
    return {"name": "升级压测", "distribution": {"depth": 3, "base": "profit", "tiers": [
        {"key": "normal", "name": "普通推广员", "rates": ["30%", "20%", "10%"]},
        {"key": "bronze", "name": "铜牌", "rates": ["20%", "10%", "5%"],
         "upgrade": {"fact": "direct_referrals", "min": 3}},
        {"key": "gold", "name": "金牌", "rates": ["50%", "30%", "20%"],
         "upgrade": {"fact": "team_sales_fen", "min": 5_000_000}}]},
        "agents": {"mode": "fixed", "base": "profit", "levels": [
            {"key": "l3", "name": "三级代理", "rate": "5%",
             "upgrade": {"fact": "product_pieces", "product_id": str(pack_id), "min": 1}},
            {"key": "l2", "name": "二级代理", "rate": "7%", "upgrade": {"all": [
                {"fact": "direct_referrals", "min": 2, "min_level": "l3"},
                {"fact": "own_sales_fen", "min": 10_000}]}},
            {"key": "l1", "name": "一级代理", "rate": "10%", "upgrade": {"any": [
                {"fact": "indirect_referrals", "min": 5, "min_level": "l2"},
                {"fact": "cumulative_recharge_fen", "min": 1_000_000}]}}]}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/siyu_bench_upgrades")
    ap.add_argument("--reuse", action="store_true",
                    help="measure again on the tenant a previous run left (no setup)")
    args = ap.parse_args()
    if args.sqlite:
        OUT.mkdir(exist_ok=True)
        path = OUT / "bench_upgrades.sqlite"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    elif args.reuse:
        url = args.mysql + "?charset=utf8mb4"
    else:
        from backend.migrate import recreate_mysql_database

        url = recreate_mysql_database(args.mysql)

    from backend.app import create_app
    from backend.catalog import service as catalog
    from backend.config import load_settings
    from backend.db import unit_of_work, utcnow
    from backend.extensions import db
    from backend.finance.models import Recharge
    from backend.flows import upgrades
    from backend.members import service as members
    from backend.members.models import Member
    from backend.migrate import upgrade
    from backend.orders.models import Order, OrderLine
    from backend.rewards import service as rewards
    from backend.rewards.conditions import MemberFacts, decide_upgrade
    from backend.tenants.service import create_tenant

    upgrade(url)  # a reused database takes the revisions added since it was made
    app = create_app(load_settings({"DATABASE_URL": url}))
    results: dict[str, object] = {"n": args.n, "database": "sqlite" if args.sqlite else "mariadb"}
    with app.app_context():
        if args.reuse:  # the tenant a previous run left: measure again, no setup
            from backend.tenants.service import get_tenant_by_slug

            tenant_id = get_tenant_by_slug(slug="bench").id
            pack_id = min(p.id for p in catalog.list_products(tenant_id=tenant_id))
            ids = list(db.session.scalars(select(Member.id).where(Member.tenant_id == tenant_id)))
            rng = random.Random(3)
            db.session.rollback()
        else:
            with unit_of_work():
                tenant = create_tenant(slug="bench", name="压测品牌", actor="bench")
                tenant_id = tenant.id
                pack = catalog.create_product(tenant_id=tenant_id, name="代理礼包", on_shelf=True, actor="bench", known_levels=None,
                                              skus=[catalog.SkuSpec(name="礼包", price_fen=99_900, cost_fen=50_000,
                                                                    stock=10)])
                pack_id = pack.id
                row = rewards.save_plan_version(tenant_id=tenant_id, document=plan(pack_id), actor="bench")
                rewards.activate_plan(tenant_id=tenant_id, version=row.version, actor="bench", now=utcnow())
            forest = grow_forest(args.n)
            ids = insert_forest(db.engine, tenant_id=tenant_id, forest=forest, first_id=1)
            db.session.rollback()

            rng = random.Random(3)
            buyers = rng.sample(ids, args.n // 5)
            now = datetime.now(UTC)
            orders_t, lines_t, recharges_t = Order.__table__, OrderLine.__table__, Recharge.__table__
            step = 5000
            with tqdm(total=len(buyers), desc="inserting orders", unit="order", mininterval=1) as bar:
                for start in range(0, len(buyers), step):
                    chunk = buyers[start:start + step]
                    order_rows, line_rows = [], []
                    for k, member_id in enumerate(chunk, start=start + 1):
                        is_pack = k % 10 == 0
                        fen = 99_900 if is_pack else rng.choice((5_000, 12_800, 39_900, 88_800))
                        order_rows.append({"id": k, "tenant_id": tenant_id, "order_no": f"B{k:012d}",
                                           "member_id": member_id, "goods_fen": fen, "payable_fen": fen,
                                           "paid_fen": fen, "status": "completed", "pay_deadline": now,
                                           "paid_at": now - timedelta(days=1), "created_at": now, "updated_at": now})
                        line_rows.append({"tenant_id": tenant_id, "order_id": k,
                                          "product_id": pack_id if is_pack else pack_id + 1, "sku_id": 1,
                                          "product_name": "礼包" if is_pack else "茶", "sku_name": "默认",
                                          "quantity": 1, "unit_price_fen": fen, "paid_fen": fen, "cost_fen": fen // 2})
                    with db.engine.begin() as conn:
                        conn.execute(orders_t.insert(), order_rows)
                        conn.execute(lines_t.insert(), line_rows)
                    bar.update(len(chunk))
            recharge_rows = [{"tenant_id": tenant_id, "member_id": m, "amount_fen": rng.choice((10_000, 500_000, 1_200_000)),
                              "bonus_fen": 0, "status": "paid", "out_trade_no": f"R{i:012d}", "created_at": now}
                             for i, m in enumerate(rng.sample(ids, args.n // 100))]
            with db.engine.begin() as conn:
                conn.execute(recharges_t.insert(), recharge_rows)

        # The pass: facts for the whole tenant, then the decisions, then the changes.
        t0 = time.perf_counter()
        rows, acc = upgrades.gather_facts(tenant_id=tenant_id, plan=rewards.get_active_plan(tenant_id=tenant_id))
        t1 = time.perf_counter()
        upgrades.candidates(plan=rewards.get_active_plan(tenant_id=tenant_id), rows=rows, acc=acc)
        t2 = time.perf_counter()
        print(f"facts {t1 - t0:.1f} s, decisions {t2 - t1:.1f} s for {len(rows)} members", flush=True)
        db.session.rollback()
        results.update({"facts_s": round(t1 - t0, 1), "decisions_s": round(t2 - t1, 1),
                        "decided_members": len(rows)})
        if not args.reuse:  # a re-measure only reads: another run may still be applying
            moved = upgrades.upgrade_tenant(tenant_id=tenant_id, now=utcnow())
            t3 = time.perf_counter()
            moved_again = upgrades.upgrade_tenant(tenant_id=tenant_id, now=utcnow())
            t4 = time.perf_counter()
            results.update({"first_pass_s": round(t3 - t2, 1), "first_pass_moved": moved,
                            "steady_pass_s": round(t4 - t3, 1), "steady_pass_moved": moved_again})
        levels = dict(db.session.execute(select(Member.agent_level, func.count()).where(
            Member.tenant_id == tenant_id).group_by(Member.agent_level)).all())
        results["levels_after"] = {str(k): v for k, v in levels.items()}
        db.session.rollback()

        # The baseline: each member's facts read with its own queries, then decided.
        plan_obj = rewards.get_active_plan(tenant_id=tenant_id)
        from backend.finance import service as finance
        from backend.orders import service as orders

        sample = rng.sample(ids, args.sample)
        per_member = []
        for member_id in sample:
            s = time.perf_counter()
            m = members.get_member(tenant_id=tenant_id, member_id=member_id)
            facts = rewards.referral_counts(tenant_id=tenant_id, member_ids=[member_id])[member_id]
            own = orders.buyer_totals(tenant_id=tenant_id, member_ids=[member_id])[member_id].paid_fen
            team = db.session.scalar(
                select(func.coalesce(func.sum(OrderLine.paid_fen), 0)).join(Order, Order.id == OrderLine.order_id)
                .join(Member, Member.id == Order.member_id)
                .where(Member.tenant_id == tenant_id, Member.path.startswith(m.path))) or 0
            recharge = finance.recharge_totals(tenant_id=tenant_id, member_ids=[member_id])[member_id]
            pieces = orders.pieces_by_buyer(tenant_id=tenant_id, product_ids=[pack_id], member_ids=[member_id])
            from dataclasses import replace

            decide_upgrade(plan_obj, replace(facts, agent_level=m.agent_level, own_sales_fen=own,
                                             team_sales_fen=int(team), cumulative_recharge_fen=recharge[0],
                                             single_recharge_fen=recharge[1],
                                             product_pieces={str(p): n for (_, p), n in pieces.items()}))
            per_member.append(time.perf_counter() - s)
            db.session.expunge_all()
        db.session.rollback()
        mean = statistics.mean(per_member)
        results["baseline_per_member_ms"] = round(mean * 1000, 3)
        results["baseline_extrapolated_s"] = round(mean * args.n, 1)
        decisions = float(results["facts_s"]) + float(results["decisions_s"])
        results["pass_decisions_s"] = round(decisions, 1)
        results["speedup_vs_per_member"] = round(mean * args.n / max(decisions, 1e-6), 1)
        _ = MemberFacts  # the type the baseline builds, for readers
    OUT.mkdir(exist_ok=True)
    (OUT / f"upgrades_{results['database']}_{args.n}.json").write_text(json.dumps(results, indent=2))
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
