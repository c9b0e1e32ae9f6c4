"""Bindings in batches (the binding worker's path): the same outcomes as one by one,
the same stored shapes, a batch per statement."""

import pytest
from sqlalchemy import func, select

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members import batch
from backend.members import service as members
from backend.members.models import Binding, Member
from tests.concurrency import race
from tests.service.members.test_binding import assert_forest_consistent


def _bindings(member_id):
    return db.session.scalar(select(func.count()).select_from(Binding).where(Binding.member_id == member_id))


def test_a_batch_binds_new_followers_across_one_tree_like_one_by_one(factory):
    t = factory.tenant()
    root, mid, leaf = factory.chain(t, 3)
    with unit_of_work():
        ids = batch.upsert_oa_followers(tenant_id=t.id, followers=[(f"oa-{i}", None) for i in range(9)], now=utcnow())
    assert len(set(ids.values())) == 9
    parents = [root.id, mid.id, leaf.id]
    with unit_of_work():
        out = batch.bind_many(tenant_id=t.id, now=utcnow(), wants=[
            batch.Want(ids[f"oa-{i}"], parents[i % 3], "oa_qrcode", None) for i in range(9)])
    assert [o.status for o in out] == ["bound"] * 9
    assert members.team_summary(tenant_id=t.id, member_id=root.id) == {
        "total": 11, "level1": 4, "level2": 4, "level3": 3}
    assert all(_bindings(i) == 1 for i in ids.values())
    assert_forest_consistent(t.id)


def test_what_is_not_simple_goes_one_by_one_with_the_same_answers(factory):
    t = factory.tenant()
    promoter, other = factory.member(t), factory.member(t)
    bound = factory.member(t, parent=other)
    with unit_of_work():
        members.adjust_member(tenant_id=t.id, member_id=other.id, changes={"promoter_status": "frozen"},
                              actor="test")
        ids = batch.upsert_oa_followers(tenant_id=t.id, followers=[("a", None), ("b", None), ("c", None)],
                                        now=utcnow())
    with unit_of_work():
        out = batch.bind_many(tenant_id=t.id, now=utcnow(), wants=[
            batch.Want(ids["a"], promoter.id, "oa_qrcode", None),
            batch.Want(ids["b"], other.id, "oa_qrcode", None),  # not an active promoter
            batch.Want(bound.id, promoter.id, "oa_qrcode", None),  # already bound elsewhere
            batch.Want(ids["c"], ids["a"], "oa_qrcode", None),  # under one bound in this batch
            batch.Want(ids["a"], promoter.id, "oa_qrcode", None),  # twice in one batch
            batch.Want(promoter.id, promoter.id, "oa_qrcode", None),  # own QR
        ])
    assert [(o.status, o.code) for o in out] == [
        ("bound", None), ("refused", "parent_not_promoter"), ("refused", "already_bound"),
        ("bound", None), ("bound", None), ("refused", "self_binding")]
    assert members.team_summary(tenant_id=t.id, member_id=promoter.id) == {
        "total": 2, "level1": 1, "level2": 1, "level3": 0}
    assert _bindings(ids["a"]) == 1 and _bindings(ids["c"]) == 1 and _bindings(bound.id) == 1
    assert_forest_consistent(t.id)


def test_bind_on_purchase_parks_the_batch_as_pending(factory):
    t = factory.tenant(bind_on="purchase")
    promoter = factory.member(t)
    with unit_of_work():
        ids = batch.upsert_oa_followers(tenant_id=t.id, followers=[("p1", None)], now=utcnow())
        out = batch.bind_many(tenant_id=t.id, now=utcnow(), wants=[batch.Want(ids["p1"], promoter.id, "share", None)])
    assert out[0].status == "pending"
    assert db.session.get(Member, ids["p1"]).pending_parent_id == promoter.id


def test_followers_known_from_the_mini_program_are_linked_not_duplicated(factory):
    t = factory.tenant()
    known = factory.member(t)
    with unit_of_work():
        ids = batch.upsert_oa_followers(tenant_id=t.id, followers=[("oa-known", known.unionid), ("oa-new", "u-x")],
                                        now=utcnow())
    assert ids["oa-known"] == known.id
    db.session.expire_all()
    assert db.session.get(Member, known.id).oa_openid == "oa-known"
    fresh = db.session.get(Member, ids["oa-new"])
    assert fresh.path == f"/{fresh.id}/" and fresh.invite_code and fresh.unionid == "u-x"
    with unit_of_work():  # again: found, nothing created
        again = batch.upsert_oa_followers(tenant_id=t.id, followers=[("oa-new", "u-x")], now=utcnow())
    assert again == {"oa-new": fresh.id}


@pytest.mark.mariadb
def test_batches_racing_in_one_tree_keep_exact_counters(app, factory):
    t = factory.tenant()
    root, mid = factory.chain(t, 2)
    tid, root_id, mid_id = t.id, root.id, mid.id
    with unit_of_work():
        ids = list(batch.upsert_oa_followers(tenant_id=tid, followers=[(f"r{i}", None) for i in range(40)],
                                             now=utcnow()).values())
    chunks = [ids[i::4] for i in range(4)]
    outcomes = race(app, [lambda c=c: batch.bind_many(tenant_id=tid, now=utcnow(), wants=[
        batch.Want(m, mid_id if m % 2 else root_id, "oa_qrcode", None) for m in c]) for c in chunks])
    assert all(isinstance(o, list) for o in outcomes), outcomes
    assert members.team_summary(tenant_id=tid, member_id=root_id)["total"] == 41
    assert_forest_consistent(tid)
