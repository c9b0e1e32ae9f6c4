"""Real threads on MariaDB: coupon stock never over-issues, a member's limit holds when
its own claims race, and one coupon cannot pay for two orders placed at once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.flows import checkout
from backend.marketing import coupons
from backend.marketing.models import Coupon, MemberCoupon
from backend.orders import service as orders
from backend.orders.models import Order
from tests.concurrency import race
from tests.marketing_factories import coupon
from tests.orders_factories import RECEIVER

pytestmark = pytest.mark.mariadb


def _claim(tid: int, cid: int, member_id: int):
    def job() -> int:
        return coupons.issue_coupon(tenant_id=tid, coupon_id=cid, member_id=member_id, source="claim",
                                    now=utcnow()).id
    return job


def test_thirty_members_racing_for_five_coupons_get_exactly_five(app, factory):
    t = factory.tenant()
    cid = coupon(t, total_stock=5)
    members = [factory.member(t).id for _ in range(30)]
    outcomes = race(app, [_claim(t.id, cid, m) for m in members])
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["coupon_out_of_stock"] * 25
    assert sum(isinstance(o, int) for o in outcomes) == 5
    assert db.session.scalar(select(Coupon.issued).where(Coupon.id == cid)) == 5
    assert db.session.scalar(select(func.count()).select_from(MemberCoupon)) == 5


def test_one_member_racing_ten_claims_gets_its_limit_of_two(app, factory):
    t = factory.tenant()
    cid = coupon(t, total_stock=100, per_member_limit=2)
    member = factory.member(t).id
    outcomes = race(app, [_claim(t.id, cid, member) for _ in range(10)])
    assert sum(isinstance(o, int) for o in outcomes) == 2
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["coupon_limit_reached"] * 8
    assert db.session.scalar(select(Coupon.issued).where(Coupon.id == cid)) == 2  # the refused rolled back


def test_one_coupon_used_by_two_checkouts_at_once_discounts_one_order(app, factory, shop):
    t = factory.tenant()
    _, sku = shop.product(t, price_fen=20000)
    buyer = factory.member(t)
    cid = coupon(t)
    with unit_of_work():
        held = coupons.issue_coupon(tenant_id=t.id, coupon_id=cid, member_id=buyer.id, source="grant",
                                    now=utcnow()).id
    tid, buyer_id = t.id, buyer.id

    def place() -> int:
        return checkout.place_order(tenant_id=tid, member_id=buyer_id, items=[orders.LineRequest(sku, 1)],
                                    receiver=orders.Receiver(**RECEIVER), coupon=held, now=utcnow()).id

    outcomes = race(app, [place for _ in range(6)])
    assert sum(isinstance(o, int) for o in outcomes) == 1
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["coupon_not_usable"] * 5
    assert db.session.scalars(select(Order.payable_fen)).all() == [17000]
