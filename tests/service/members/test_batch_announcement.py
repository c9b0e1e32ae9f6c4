"""`members_bound` for a batch (the binding worker's path): every listener does for a
batch what it does for one binding (the promoter's new-fan alert, the invite coupon
and binding points, the material's binding count, the upgrade mark), and a batch costs
the same few statements whatever its size."""

from contextlib import contextmanager

from sqlalchemy import event, select

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.marketing import coupons, materials, points
from backend.marketing.models import MaterialEvent, MemberCoupon, PointsEntry
from backend.members import batch
from backend.members import service as members
from backend.notifications.models import OutboxMessage
from tests import marketing_factories


def _effects(tenant_id, promoters):
    """What the bindings set off in one tenant, in a shape comparable across tenants:
    per promoter (by its index) its points balance, its bind entries' deltas, its
    invite coupons and the new-fan alerts it got (by nickname)."""
    out = []
    for p in promoters:
        alerts = sorted((r.payload["nickname"], r.payload["level"]) for r in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id, OutboxMessage.member_id == p.id,
                                        OutboxMessage.kind == "team_member")))
        entries = sorted(e.delta for e in db.session.scalars(select(PointsEntry).where(
            PointsEntry.tenant_id == tenant_id, PointsEntry.member_id == p.id, PointsEntry.kind == "bind")))
        invites = len(list(db.session.scalars(select(MemberCoupon).where(
            MemberCoupon.tenant_id == tenant_id, MemberCoupon.member_id == p.id, MemberCoupon.source == "invite"))))
        out.append((points.balance_of(tenant_id=tenant_id, member_id=p.id), entries, invites, alerts))
    return out


def _setup(factory, *, invite_coupon):
    """A tenant with two promoters (the first with points already, so with an account;
    the second without), a material, and six fresh members named 粉丝0…粉丝5."""
    t = factory.tenant()
    a, b = factory.member(t), factory.member(t)
    if invite_coupon:
        cid = marketing_factories.coupon(t, per_member_limit=5)
        with unit_of_work():
            coupons.update_policy(tenant_id=t.id, changes={"invite_coupon_id": cid}, actor="test")
    with unit_of_work():
        points.post_points(tenant_id=t.id, member_id=a.id, delta=3, kind="grant", key="seed", now=utcnow())
        m = materials.create_material(tenant_id=t.id, kind="copy", title="新品", body="{link}", media_urls=[],
                                      category="", product_id=None, actor="test")
    fans = [factory.member(t, nickname=f"粉丝{i}") for i in range(6)]
    # a0..a3 under the first promoter (two through the material), a4, a5 under the
    # second (one through the staff-style source that earns nothing).
    plan = [(fans[0], a, "share", f"i={a.invite_code}&m={m.id}"), (fans[1], a, "share", f"i={a.invite_code}&m={m.id}"),
            (fans[2], a, "oa_qrcode", f"i={a.invite_code}"), (fans[3], a, "invite_code", a.invite_code),
            (fans[4], b, "share", None), (fans[5], b, "manual", None)]
    return t, (a, b), m, plan


def test_a_batch_sets_off_what_the_same_bindings_one_by_one_do(factory):
    results = []
    for batched in (True, False):
        t, promoters, m, plan = _setup(factory, invite_coupon=True)
        now = utcnow()
        with unit_of_work():
            if batched:
                out = batch.bind_many(tenant_id=t.id, now=now, wants=[
                    batch.Want(f.id, p.id, source, scene) for f, p, source, scene in plan])
                assert [o.status for o in out] == ["bound"] * 6
            else:
                for f, p, source, scene in plan:
                    members.bind_member(tenant_id=t.id, member_id=f.id, parent_id=p.id, source=source, scene=scene,
                                        now=now)
        counted = sorted(db.session.scalars(select(MaterialEvent.member_id).where(
            MaterialEvent.tenant_id == t.id, MaterialEvent.material_id == m.id, MaterialEvent.kind == "binding")))
        results.append((_effects(t.id, promoters), counted == sorted([plan[0][0].id, plan[1][0].id])))
    batched, one_by_one = results
    assert batched == one_by_one
    (first, second), counted = batched
    # 4 shares × 10 points (+3 seeded); one share for the second (the manual binding earns nothing).
    assert first[:3] == (43, [10, 10, 10, 10], 4) and second[:3] == (10, [10], 1)
    assert first[3] == [(f"粉丝{i}", 1) for i in range(4)] and second[3] == [("粉丝4", 1), ("粉丝5", 1)]
    assert counted


def test_points_already_given_for_a_member_are_not_given_again(factory):
    t, (a, b), _, plan = _setup(factory, invite_coupon=False)
    with unit_of_work():  # fan0 brought a point to the first promoter before (an earlier, ended binding)
        points.reward_binding(tenant_id=t.id, promoter_id=a.id, member_id=plan[0][0].id, now=utcnow())
    with unit_of_work():
        batch.bind_many(tenant_id=t.id, now=utcnow(), wants=[
            batch.Want(f.id, p.id, source, scene) for f, p, source, scene in plan])
    assert points.balance_of(tenant_id=t.id, member_id=a.id) == 3 + 40
    assert points.balance_of(tenant_id=t.id, member_id=b.id) == 10


@contextmanager
def _statements():
    seen: list[str] = []
    engine = db.engine

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_batch_costs_the_same_statements_whatever_its_size(factory):
    def run(n):
        t = factory.tenant()
        root, promoter = factory.chain(t, 2)
        with unit_of_work():
            ids = batch.upsert_oa_followers(tenant_id=t.id, followers=[(f"s{i}", None) for i in range(n)],
                                            now=utcnow())
        with _statements() as seen, unit_of_work():
            batch.bind_many(tenant_id=t.id, now=utcnow(), wants=[
                batch.Want(i, promoter.id, "oa_qrcode", f"i={promoter.invite_code}") for i in ids.values()])
        assert points.balance_of(tenant_id=t.id, member_id=promoter.id) == 10 * n
        return len(seen)

    small, large = run(3), run(30)
    assert large == small, (small, large)
    assert large <= 25
