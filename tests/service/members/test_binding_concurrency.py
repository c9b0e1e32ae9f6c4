"""Real threads against MariaDB: bindings race and exactly one wins."""


import pytest
from sqlalchemy import func, select

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members import counters
from backend.members import service as members
from backend.members.models import Binding, Member
from tests.concurrency import race
from tests.service.members.test_binding import assert_forest_consistent

pytestmark = pytest.mark.mariadb


def test_twenty_concurrent_bindings_of_one_member_leave_exactly_one_parent(app, factory):
    t = factory.tenant()
    parent_ids = [factory.member(t).id for _ in range(20)]
    fan_id = factory.member(t).id
    tid = t.id  # plain ints: ORM objects of this thread must not be touched by others
    outcomes = race(app, [
        (lambda p=p: members.bind_member(tenant_id=tid, member_id=fan_id, parent_id=p,
                                         source="share", scene=None, now=utcnow()))
        for p in parent_ids])
    winners = [o for o in outcomes if not isinstance(o, str)]
    assert len(winners) == 1 and outcomes.count("already_bound") == 19
    db.session.expire_all()
    assert db.session.get(Member, fan_id).parent_id == winners[0].parent_id
    assert db.session.scalar(select(func.count()).select_from(Binding).where(
        Binding.member_id == fan_id)) == 1
    assert sum(members.team_summary(tenant_id=tid, member_id=p)["total"] for p in parent_ids) == 1


def test_crossed_bindings_never_form_a_cycle(app, factory):
    t = factory.tenant()
    tid = t.id
    for _ in range(5):
        a, b, c = (factory.member(t).id for _ in range(3))
        bind = lambda m, p: (lambda: members.bind_member(  # noqa: E731
            tenant_id=tid, member_id=m, parent_id=p, source="share", scene=None,
            now=utcnow()))
        race(app, [bind(a, b), bind(b, c), bind(c, a)])
    db.session.expire_all()
    assert_forest_consistent(t.id)  # a cycle would make the walk in there loop or mismatch


def test_many_fans_binding_under_one_promoter_at_once_keep_exact_counters(app, factory):
    t = factory.tenant()
    top, mid = (m.id for m in factory.chain(t, 2))
    fan_ids = [factory.member(t).id for _ in range(30)]
    tid = t.id
    outcomes = race(app, [
        (lambda f=f: members.bind_member(tenant_id=tid, member_id=f, parent_id=mid,
                                         source="share", scene=None, now=utcnow()))
        for f in fan_ids])
    assert all(not isinstance(o, str) for o in outcomes)
    db.session.expire_all()
    assert members.team_summary(tenant_id=tid, member_id=top) == {
        "total": 31, "level1": 1, "level2": 30, "level3": 0}
    assert_forest_consistent(tid)


def test_folds_racing_bindings_in_one_tree_lose_and_double_nothing(app, factory):
    t = factory.tenant()
    top, mid = (m.id for m in factory.chain(t, 2))
    fan_ids = [factory.member(t).id for _ in range(24)]
    tid = t.id
    binds = [(lambda f=f: members.bind_member(tenant_id=tid, member_id=f, parent_id=mid if f % 2 else top,
                                              source="share", scene=None, now=utcnow())) for f in fan_ids]
    folds = [members.fold_team_counters for _ in range(6)]
    outcomes = race(app, [j for pair in zip(binds[:6], folds, strict=True) for j in pair] + binds[6:])
    assert all(not isinstance(o, (str, Exception)) for o in outcomes), outcomes
    db.session.expire_all()
    assert members.team_summary(tenant_id=tid, member_id=top)["total"] == 25
    assert_forest_consistent(tid)
    with unit_of_work():
        members.fold_team_counters()
    assert counters.pending_count() == 0
    assert db.session.get(Member, top, populate_existing=True).team_total == 25
    assert_forest_consistent(tid)
