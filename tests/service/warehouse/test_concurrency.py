"""Real threads on MariaDB: restocks from an upline, transfers and drop-ship orders all
drawing on the same cloud stock never take it below zero, and every piece is accounted
for in the ledger."""

from __future__ import annotations

import pytest

from backend.db import utcnow
from backend.extensions import db
from backend.flows import agent_channel as flow
from backend.orders import service as orders
from backend.warehouse import service as warehouse
from tests.concurrency import race
from tests.orders_factories import RECEIVER

pytestmark = pytest.mark.mariadb


def test_restocks_transfers_and_drop_ship_orders_racing_for_one_stock_never_overdraw_it(app, factory, channel):
    tenant, product_id, sku_id = channel.brand()
    top, mid = channel.agents_chain(tenant, ["l1", "l2"])
    lows = [factory.member(tenant, parent=mid) for _ in range(4)]
    for low in lows:
        channel.authorize(tenant, low, "l3")
    buyers = [factory.member(tenant) for _ in range(4)]
    channel.stock(tenant, mid, sku_id, 20)
    t_id, mid_id, sku = tenant.id, mid.id, sku_id
    low_ids, buyer_ids = [m.id for m in lows], [b.id for b in buyers]
    # mid's own downline restocks from mid (upline) 3 pieces each; mid transfers 3 to each
    # low; buyers order 3 each through mid's link: 12 claims of 3 pieces on 20 pieces.
    jobs = []
    for i, low_id in enumerate(low_ids):
        jobs.append(lambda low_id=low_id: flow.place_restock(
            tenant_id=t_id, member_id=low_id, items=[(sku, 3)], source="upline", now=utcnow())[0].id)
        jobs.append(lambda low_id=low_id, i=i: flow.transfer(
            tenant_id=t_id, from_id=mid_id, to_id=low_id, sku_id=sku, pieces=3, client_token=f"race-{i:04d}",
            now=utcnow()).id)
    for b in buyer_ids:
        jobs.append(lambda b=b: flow.place_retail_order(
            tenant_id=t_id, member_id=b, items=[orders.LineRequest(sku_id=sku, quantity=3)],
            receiver=orders.Receiver(**RECEIVER), source_type="agent", source_id=mid_id, now=utcnow()).id)
    outcomes = race(app, jobs)
    won = [o for o in outcomes if isinstance(o, int)]
    lost = [o for o in outcomes if not isinstance(o, int)]
    assert len(won) == 6 and lost == ["insufficient_pieces"] * 6, outcomes
    with app.app_context():
        left = warehouse.stock_of(tenant_id=t_id, member_id=mid_id)[sku]
        assert left == 2
        report = warehouse.check(tenant_id=t_id)
        assert report.ok, report
        db.session.rollback()


def test_concurrent_pickups_and_accepted_transfers_account_for_every_piece(app, factory, channel):
    tenant, product_id, sku_id = channel.brand(transfer_confirmation=True)
    top, mid = channel.agents_chain(tenant, ["l1", "l2"])
    channel.stock(tenant, top, sku_id, 10)
    t_id, top_id, mid_id, sku = tenant.id, top.id, mid.id, sku_id
    receiver = {"name": "李四", "phone": "13900139000", "address": "浙江省杭州市西湖区文三路 1 号"}
    jobs = [lambda i=i: flow.request_pickup(tenant_id=t_id, member_id=top_id, sku_id=sku, pieces=2,
                                               client_token=f"pick-race-{i}", receiver=receiver, now=utcnow()).id
            for i in range(4)]
    jobs += [lambda i=i: flow.transfer(tenant_id=t_id, from_id=top_id, to_id=mid_id, sku_id=sku, pieces=2,
                                          client_token=f"xfer-race-{i}", now=utcnow()).id for i in range(4)]
    outcomes = race(app, jobs)
    assert sum(isinstance(o, int) for o in outcomes) == 5
    assert [o for o in outcomes if not isinstance(o, int)] == ["insufficient_pieces"] * 3
    with app.app_context():
        assert warehouse.stock_of(tenant_id=t_id, member_id=top_id)[sku] == 0
        assert warehouse.check(tenant_id=t_id).ok


def test_simultaneous_scans_of_one_code_count_each_once_and_only_one_is_first(app, factory, channel):
    from backend.anticounterfeit import service as ac
    from backend.db import unit_of_work

    tenant, product_id, sku_id = channel.brand()
    with unit_of_work():
        b = ac.create_batch(tenant_id=tenant.id, product_id=product_id, product_name="明前龙井", size=1, label="",
                            actor="test", now=utcnow())
        bid = b.id
    with app.app_context():
        from sqlalchemy import select

        from backend.anticounterfeit.models import Code

        code = db.session.scalar(select(Code.code).where(Code.batch_id == bid))
        db.session.rollback()
    outcomes = race(app, [lambda: ac.scan(code=code, now=utcnow(), province="浙江省") for _ in range(8)])
    assert sorted(o["scan_count"] for o in outcomes) == list(range(1, 9)), outcomes
    assert [o["repeated"] for o in outcomes].count(False) == 1
