import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members import counters
from backend.members import service as members
from backend.members.errors import (
    AlreadyBound,
    BindingCycle,
    InviteCodeUnknown,
    ParentNotPromoter,
    SelfBinding,
)
from backend.members.models import Binding, Member


def fresh(m):
    return db.session.get(Member, m.id, populate_existing=True)


def assert_forest_consistent(tenant_id):
    """Every stored shape equals what the parent pointers alone imply."""
    rows = {m.id: m for m in db.session.scalars(
        select(Member).where(Member.tenant_id == tenant_id).execution_options(populate_existing=True))}
    children = {}
    for m in rows.values():
        children.setdefault(m.parent_id, []).append(m.id)

    def chain(mid):
        out = []
        while rows[mid].parent_id is not None:
            mid = rows[mid].parent_id
            out.append(mid)
        return out

    exact = counters.counts_of(tenant_id=tenant_id, member_ids=list(rows))  # row + pending deltas
    for m in rows.values():
        up = chain(m.id)
        assert m.path == "/" + "".join(f"{i}/" for i in [*reversed(up), m.id]), m.id
        assert m.depth == len(up)
        assert m.grandparent_id == (up[1] if len(up) > 1 else None)
        assert m.great_grandparent_id == (up[2] if len(up) > 2 else None)
        levels = {1: 0, 2: 0, 3: 0}
        total = 0
        frontier = [(c, 1) for c in children.get(m.id, [])]
        while frontier:
            cid, d = frontier.pop()
            total += 1
            if d <= 3:
                levels[d] += 1
            frontier.extend((g, d + 1) for g in children.get(cid, []))
        assert exact[m.id] == (total, levels[1], levels[2], levels[3]), m.id


def test_a_chain_of_five_counts_each_level_for_the_root(factory):
    t = factory.tenant()
    chain = factory.chain(t, 5)
    assert members.team_summary(tenant_id=t.id, member_id=chain[0].id) == {
        "total": 4, "level1": 1, "level2": 1, "level3": 1}
    assert [m.id for m in members.upline(tenant_id=t.id, member_id=chain[4].id)] == [
        chain[3].id, chain[2].id, chain[1].id, chain[0].id]
    assert_forest_consistent(t.id)


def test_binding_records_its_source_scene_and_time(factory):
    t = factory.tenant()
    promoter = factory.member(t)
    fan = factory.member(t)
    now = utcnow()
    with unit_of_work():
        result = members.bind_by_scene(tenant_id=t.id, member_id=fan.id,
                                       scene=f"i={promoter.invite_code.lower()}&p=7",
                                       source="share", now=now)
    assert result.status == "bound" and result.parent_id == promoter.id
    record = db.session.scalar(select(Binding).where(Binding.member_id == fan.id))
    assert (record.parent_id, record.source, record.scene) == (
        promoter.id, "share", f"i={promoter.invite_code.lower()}&p=7")


def test_self_binding_and_cycles_are_refused_and_change_nothing(factory):
    t = factory.tenant()
    a, b, c = factory.chain(t, 3)
    with pytest.raises(SelfBinding), unit_of_work():
        members.bind_member(tenant_id=t.id, member_id=a.id, parent_id=a.id, source="share",
                            scene=None, now=utcnow())
    with pytest.raises(BindingCycle), unit_of_work():
        members.bind_member(tenant_id=t.id, member_id=a.id, parent_id=c.id, source="share",
                            scene=None, now=utcnow())
    assert fresh(a).parent_id is None
    assert_forest_consistent(t.id)


def test_a_bound_member_cannot_be_rebound_by_default(factory):
    t = factory.tenant()
    p1, p2 = factory.member(t), factory.member(t)
    fan = factory.member(t, parent=p1)
    with pytest.raises(AlreadyBound), unit_of_work():
        members.bind_by_invite_code(tenant_id=t.id, member_id=fan.id, code=p2.invite_code,
                                    now=utcnow())
    assert fresh(fan).parent_id == p1.id


def test_rebinding_moves_the_whole_team_when_the_tenant_allows_it(factory):
    t = factory.tenant(allow_rebind=True)
    a, b, c, d = factory.chain(t, 4)
    other = factory.member(t)
    with unit_of_work():
        result = members.bind_member(tenant_id=t.id, member_id=b.id, parent_id=other.id,
                                     source="invite_code", scene=None, now=utcnow())
    assert result.status == "rebound"
    assert members.team_summary(tenant_id=t.id, member_id=a.id)["total"] == 0
    assert members.team_summary(tenant_id=t.id, member_id=other.id) == {
        "total": 3, "level1": 1, "level2": 1, "level3": 1}
    assert fresh(d).great_grandparent_id == other.id
    ended = db.session.scalar(select(Binding).where(Binding.member_id == b.id,
                                                    Binding.parent_id == a.id))
    assert ended.end_reason == "rebind"
    assert_forest_consistent(t.id)


def test_unknown_invite_codes_are_refused(factory):
    t = factory.tenant()
    fan = factory.member(t)
    with pytest.raises(InviteCodeUnknown), unit_of_work():
        members.bind_by_invite_code(tenant_id=t.id, member_id=fan.id, code="ZZZZZZ", now=utcnow())


def test_only_active_promoters_bring_members(factory):
    t = factory.tenant()
    p = factory.member(t)
    with unit_of_work():
        members.adjust_member(tenant_id=t.id, member_id=p.id,
                              changes={"promoter_status": "frozen"}, actor="test")
    fan = factory.member(t)
    with pytest.raises(ParentNotPromoter), unit_of_work():
        members.bind_member(tenant_id=t.id, member_id=fan.id, parent_id=p.id, source="share",
                            scene=None, now=utcnow())


def test_bind_on_purchase_parks_the_first_share_until_the_first_payment(factory):
    t = factory.tenant(bind_on="purchase")
    p1, p2 = factory.member(t), factory.member(t)
    fan = factory.member(t)
    now = utcnow()
    with unit_of_work():
        first = members.bind_member(tenant_id=t.id, member_id=fan.id, parent_id=p1.id,
                                    source="share", scene=None, now=now)
        second = members.bind_member(tenant_id=t.id, member_id=fan.id, parent_id=p2.id,
                                     source="share", scene=None, now=now)
    assert (first.status, second.status, second.parent_id) == ("pending", "pending", p1.id)
    assert fresh(fan).parent_id is None
    with unit_of_work():
        members.record_purchase(tenant_id=t.id, member_id=fan.id, now=now)
    assert fresh(fan).parent_id == p1.id
    assert members.team_summary(tenant_id=t.id, member_id=p1.id)["level1"] == 1


def test_expiring_bindings_lapse_without_a_purchase_and_purchases_extend_them(factory):
    t = factory.tenant(bind_expire_days=7)
    p = factory.member(t)
    start = utcnow()
    idle = factory.member(t, parent=p, now=start)
    buyer = factory.member(t, parent=p, now=start)
    with unit_of_work():
        members.record_purchase(tenant_id=t.id, member_id=buyer.id, now=start + timedelta(days=5))
    from backend.members.jobs import expire_lapsed_bindings

    assert expire_lapsed_bindings(now=start + timedelta(days=8)) == 1
    assert expire_lapsed_bindings(now=start + timedelta(days=8)) == 0
    assert fresh(idle).parent_id is None and fresh(buyer).parent_id == p.id
    assert members.team_summary(tenant_id=t.id, member_id=p.id)["total"] == 1
    assert_forest_consistent(t.id)


def test_random_binds_and_rebinds_keep_every_stored_shape_consistent(factory):
    t = factory.tenant(allow_rebind=True)
    rng = random.Random(7)
    people = [factory.member(t) for _ in range(25)]
    for _ in range(60):
        m, p = rng.sample(people, 2)
        try:
            with unit_of_work():
                members.bind_member(tenant_id=t.id, member_id=m.id, parent_id=p.id,
                                    source="share", scene=None, now=utcnow())
        except BindingCycle:
            pass
    assert_forest_consistent(t.id)


def test_folding_the_counter_deltas_at_any_point_keeps_the_counts_and_empties_the_deltas(factory):
    t = factory.tenant(allow_rebind=True)
    rng = random.Random(11)
    people = [factory.member(t) for _ in range(20)]
    for step in range(50):
        m, p = rng.sample(people, 2)
        try:
            with unit_of_work():
                members.bind_member(tenant_id=t.id, member_id=m.id, parent_id=p.id,
                                    source="share", scene=None, now=utcnow())
        except BindingCycle:
            pass
        if step % 7 == 3:
            with unit_of_work():
                members.fold_team_counters()
            assert_forest_consistent(t.id)
    assert counters.pending_count() > 0  # the reads above added what was still pending
    with unit_of_work():
        assert members.fold_team_counters() > 0
    assert counters.pending_count() == 0
    assert_forest_consistent(t.id)
    rows = db.session.scalars(select(Member).where(Member.tenant_id == t.id)
                              .execution_options(populate_existing=True))
    exact = counters.counts_of(tenant_id=t.id, member_ids=[p.id for p in people])
    assert {m.id: (m.team_total, m.team_l1, m.team_l2, m.team_l3) for m in rows} == {
        i: tuple(c) for i, c in exact.items()}


def test_a_binding_writes_no_upline_row_only_deltas(factory):
    t = factory.tenant()
    chain = factory.chain(t, 4)
    first, fan = factory.member(t), factory.member(t)
    with unit_of_work():  # the parent's first member marks it as having had a team, once
        members.bind_member(tenant_id=t.id, member_id=first.id, parent_id=chain[-1].id, source="share",
                            scene=None, now=utcnow())
        members.fold_team_counters()
    assert fresh(chain[-1]).had_team and not fresh(first).had_team
    before = {m.id: (fresh(m).updated_at, fresh(m).team_total) for m in chain}
    with unit_of_work():
        members.bind_member(tenant_id=t.id, member_id=fan.id, parent_id=chain[-1].id, source="share",
                            scene=None, now=utcnow())
    assert {m.id: (fresh(m).updated_at, fresh(m).team_total) for m in chain} == before  # rows untouched
    assert counters.pending_count() == 4  # one delta per upline member
    assert members.team_summary(tenant_id=t.id, member_id=chain[0].id) == {
        "total": 5, "level1": 1, "level2": 1, "level3": 1}
    assert members.team_summary(tenant_id=t.id, member_id=chain[-1].id)["level1"] == 2


def test_team_pages_by_level_and_whole_team(factory):
    t = factory.tenant()
    root = factory.member(t)
    kids = [factory.member(t, parent=root) for _ in range(3)]
    grandkids = [factory.member(t, parent=kids[0]) for _ in range(2)]
    deep = factory.chain(t, 1)[0]
    with unit_of_work():
        members.bind_member(tenant_id=t.id, member_id=deep.id, parent_id=grandkids[0].id,
                            source="share", scene=None, now=utcnow())
    ids = lambda rows: [m.id for m in rows]  # noqa: E731
    assert ids(members.team_page(tenant_id=t.id, member_id=root.id, level=1)) == ids(kids)
    assert ids(members.team_page(tenant_id=t.id, member_id=root.id, level=2)) == ids(grandkids)
    assert ids(members.team_page(tenant_id=t.id, member_id=root.id, level=3)) == [deep.id]
    page1 = members.team_page(tenant_id=t.id, member_id=root.id, level=None, limit=4)
    page2 = members.team_page(tenant_id=t.id, member_id=root.id, level=None,
                              after_id=page1[-1].id, limit=4)
    assert sorted(ids(page1) + ids(page2)) == sorted(ids(kids) + ids(grandkids) + [deep.id])


def test_manual_adjustments_are_audited_with_before_and_after(factory):
    from backend.audit.service import list_audit

    t = factory.tenant()
    m = factory.member(t)
    with unit_of_work():
        members.adjust_member(tenant_id=t.id, member_id=m.id,
                              changes={"promoter_status": "frozen", "member_level": 2},
                              actor="staff:9")
    entry = list_audit(tenant_id=t.id, target_type="member")[0]
    assert entry.actor == "staff:9" and entry.action == "member.adjust"
    assert entry.before == {"promoter_status": "active", "member_level": 0}
    assert entry.after == {"promoter_status": "frozen", "member_level": 2}


def test_a_binding_queues_a_new_fan_alert_for_the_promoter(factory):
    from backend.notifications.models import OutboxMessage

    t = factory.tenant()
    promoter = factory.member(t)
    fan = factory.member(t, parent=promoter)
    alerts = list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.tenant_id == t.id, OutboxMessage.member_id == promoter.id)))
    assert [a.kind for a in alerts] == ["team_member"]
    assert alerts[0].payload["new_member_id"] == fan.id
