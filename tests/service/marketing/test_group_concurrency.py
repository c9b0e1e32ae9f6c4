"""Real threads on MariaDB: a crowd racing for a group's last seat fills it once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.flows import group_buy
from backend.marketing import groups
from backend.marketing.models import GroupBuy, GroupSeat
from backend.orders import service as orders
from backend.orders.models import Order
from tests.concurrency import race
from tests.orders_factories import RECEIVER

pytestmark = pytest.mark.mariadb


def test_twelve_joiners_racing_for_the_last_seat_leave_exactly_one_order(app, factory, shop):
    t = factory.tenant()
    product, sku = shop.product(t, price_fen=10000, stock=100)
    now = utcnow()
    leader = factory.member(t)
    with unit_of_work():
        c = groups.create_campaign(tenant_id=t.id, sku_product_id=product, actor="test", spec=groups.CampaignSpec(
            name="二人团", product_id=product, sku_id=sku, group_price_fen=5000, group_size=2,
            time_limit_minutes=60, starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(days=1)))
        group, _ = group_buy.open_group(tenant_id=t.id, member_id=leader.id, campaign_id=c.id,
                                        receiver=orders.Receiver(**RECEIVER), now=now)
        gid = group.id
    tid = t.id
    crowd = [factory.member(t).id for _ in range(12)]

    def join(member_id: int):
        return lambda: group_buy.join_group(tenant_id=tid, member_id=member_id, group_id=gid,
                                            receiver=orders.Receiver(**RECEIVER), now=utcnow())[1].id

    outcomes = race(app, [join(m) for m in crowd])
    assert sum(isinstance(o, int) for o in outcomes) == 1
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["group_full"] * 11
    assert db.session.get(GroupBuy, gid).seats_taken == 2
    assert db.session.scalar(select(func.count()).select_from(GroupSeat)) == 2
    assert db.session.scalar(select(func.count()).select_from(Order)) == 2


def test_job_runners_racing_on_a_filled_free_leader_group_refund_the_leader_once(app, factory, shop):
    from backend.orders.models import Refund

    t = factory.tenant()
    product, sku = shop.product(t, price_fen=10000, stock=100)
    now = utcnow()
    leader, joiner = factory.member(t), factory.member(t)
    with unit_of_work():
        c = groups.create_campaign(tenant_id=t.id, sku_product_id=product, actor="test", spec=groups.CampaignSpec(
            name="团长免单", product_id=product, sku_id=sku, group_price_fen=5000, group_size=2,
            time_limit_minutes=60, starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(days=1),
            free_leader=True))
        group, lead_order = group_buy.open_group(tenant_id=t.id, member_id=leader.id, campaign_id=c.id,
                                                 receiver=orders.Receiver(**RECEIVER), now=now)
        _, join_order = group_buy.join_group(tenant_id=t.id, member_id=joiner.id, group_id=group.id,
                                             receiver=orders.Receiver(**RECEIVER), now=now)
        gid, lead_id, join_id = group.id, lead_order.id, join_order.id
    for member, oid in ((leader, lead_id), (joiner, join_id)):
        (d,) = shop.deliver(shop.payment(t, member, db.session.get(Order, oid)))
        assert d.result.status_code == 204
    db.session.expire_all()
    assert db.session.get(GroupBuy, gid).leader_refund_due is True

    outcomes = race(app, [lambda: group_buy.refund_free_leaders(now_fn=utcnow) for _ in range(6)], own_unit=False)
    assert sorted(outcomes) == [0, 0, 0, 0, 0, 1]
    db.session.expire_all()
    refunds = db.session.scalars(select(Refund).where(Refund.order_id == lead_id)).all()
    assert [(r.amount_fen, r.whole) for r in refunds] == [(5000, True)]
    assert db.session.get(GroupBuy, gid).leader_refund_due is None
