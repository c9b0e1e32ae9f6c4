"""Real threads on MariaDB: points are never overdrawn, whatever races for them."""

from __future__ import annotations

import pytest

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.marketing import points
from tests.concurrency import race

pytestmark = pytest.mark.mariadb


def test_ten_transfers_racing_for_one_balance_take_only_what_is_there(app, factory):
    t = factory.tenant()
    giver = factory.member(t)
    takers = [factory.member(t).id for _ in range(10)]
    tid, gid = t.id, giver.id
    with unit_of_work():
        points.credit(tenant_id=tid, member_id=gid, points=1000, kind="grant", key="seed", now=utcnow(), memo="")

    def give(to: int, i: int):
        return lambda: points.transfer(tenant_id=tid, from_member_id=gid, to_member_id=to, points=300,
                                       client_token=f"t{i}", now=utcnow())

    outcomes = race(app, [give(to, i) for i, to in enumerate(takers)])
    assert outcomes.count(True) == 3 and outcomes.count("insufficient_points") == 7
    db.session.expire_all()
    assert points.balance_of(tenant_id=tid, member_id=gid) == 100
    assert sum(points.balance_of(tenant_id=tid, member_id=m) for m in takers) == 900
    assert points.check_points(tenant_id=tid).mismatched == []


def test_crossing_transfers_between_two_members_all_land(app, factory):
    t = factory.tenant()
    a, b = factory.member(t).id, factory.member(t).id
    tid = t.id
    with unit_of_work():
        for m in (a, b):
            points.credit(tenant_id=tid, member_id=m, points=100, kind="grant", key=f"seed{m}", now=utcnow(), memo="")

    def give(src: int, dst: int, i: int):
        return lambda: points.transfer(tenant_id=tid, from_member_id=src, to_member_id=dst, points=10,
                                       client_token=f"x{i}", now=utcnow())

    outcomes = race(app, [give(a, b, i) if i % 2 else give(b, a, i) for i in range(12)])
    assert outcomes == [True] * 12
    db.session.expire_all()
    assert points.balance_of(tenant_id=tid, member_id=a) + points.balance_of(tenant_id=tid, member_id=b) == 200
