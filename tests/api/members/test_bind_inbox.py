"""MP_BIND_INBOX=worker: `POST /mp/me/bind` checks what it can up front (same errors
and codes as the in-request binding, nothing written), queues the rest in one INSERT
and answers `queued`; the job `members.bind_requests` binds in batches, each request
exactly once whatever dies in between, and `/mp/me` shows the request queued, then its
outcome."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.config import ConfigError, load_settings
from backend.db import run_in_unit_of_work, unit_of_work, utcnow
from backend.extensions import db
from backend.marketing import points
from backend.members import bind_inbox
from backend.members import jobs as member_jobs
from backend.members import service as members
from backend.members.models import Binding, BindRequest, Member
from backend.notifications.models import OutboxMessage
from tests.concurrency import race


@pytest.fixture()
def worker_mode(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = dataclasses.replace(app.config["SIYU_SETTINGS"], mp_bind_inbox="worker")
    monkeypatch.setitem(app.config, "SIYU_SETTINGS", settings)


def _count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _bind(client: Any, factory: Any, member: Any, **body: Any) -> Any:
    return client.post("/api/v1/mp/me/bind", headers=factory.member_headers(member),
                       json={"source": "share", **body})


def _drain() -> int:
    db.session.rollback()
    return member_jobs.bind_requests(now=utcnow())


def test_a_binding_is_answered_queued_and_bound_by_the_worker(client, factory, worker_mode):
    t = factory.tenant()
    promoter, fan = factory.member(t, nickname="推广达人"), factory.member(t, nickname="新粉丝")
    resp = _bind(client, factory, fan, scene=f"i={promoter.invite_code}")
    assert resp.status_code == 200 and resp.json == {"status": "queued", "parent_id": promoter.id}
    assert _count(Member, Member.parent_id == promoter.id) == 0  # not yet: it waits in the inbox
    me = client.get("/api/v1/mp/me", headers=factory.member_headers(fan)).json
    assert (me["parent_id"], me["bind_request"]["status"], me["bind_request"]["parent_id"]) == (
        None, "queued", promoter.id)

    assert _drain() == 1
    me = client.get("/api/v1/mp/me", headers=factory.member_headers(fan)).json
    assert me["parent_id"] == promoter.id
    assert (me["bind_request"]["status"], me["bind_request"]["code"], me["bind_request"]["message"]) == (
        "bound", None, None)
    # What a binding sets off happened once: the record, the promoter's points and alert.
    assert _count(Binding, Binding.member_id == fan.id, Binding.source == "share") == 1
    assert points.balance_of(tenant_id=t.id, member_id=promoter.id) == 10
    assert _count(OutboxMessage, OutboxMessage.member_id == promoter.id, OutboxMessage.kind == "team_member") == 1
    assert _count(BindRequest, BindRequest.pending.is_(True)) == 0
    assert _drain() == 0  # nothing left: a second run changes nothing
    assert points.balance_of(tenant_id=t.id, member_id=promoter.id) == 10


def test_an_invite_code_queues_like_the_in_request_binding_records_it(client, factory, worker_mode):
    t = factory.tenant()
    promoter, fan = factory.member(t), factory.member(t)
    resp = _bind(client, factory, fan, source="share", invite_code=promoter.invite_code.lower())
    assert resp.json == {"status": "queued", "parent_id": promoter.id}
    _drain()
    row = db.session.scalar(select(Binding).where(Binding.member_id == fan.id))
    assert (row.parent_id, row.source, row.scene) == (promoter.id, "invite_code", promoter.invite_code)


def test_what_one_read_can_tell_is_refused_at_once_and_nothing_is_queued(client, factory, worker_mode):
    t = factory.tenant()
    promoter, other = factory.member(t), factory.member(t)
    fan = factory.member(t, parent=promoter)
    below = factory.member(t, parent=fan)
    fresh = factory.member(t)
    with unit_of_work():
        members.adjust_member(tenant_id=t.id, member_id=other.id, changes={"promoter_status": "none"}, actor="test")
    cases = [
        (fresh, {"scene": "i=ZZZZZZ"}, 404, "invite_code_unknown", "邀请码不存在"),
        (fresh, {"scene": "nonsense=1"}, 400, "invalid_scene", None),
        (fresh, {"invite_code": "!!"}, 404, "invite_code_unknown", "邀请码不存在"),
        (fresh, {}, 400, "invalid_scene", "请提供分享参数或邀请码之一"),
        (promoter, {"scene": f"i={promoter.invite_code}"}, 400, "self_binding", "不能绑定自己为上级"),
        (fresh, {"scene": f"i={other.invite_code}"}, 400, "parent_not_promoter", "对方还不是推广员，无法绑定"),
        (fan, {"scene": f"i={below.invite_code}"}, 400, "binding_cycle", "不能绑定自己的下级为上级"),
        (fan, {"scene": f"i={fresh.invite_code}"}, 409, "already_bound", "已绑定上级，不可更换"),
    ]
    for member, body, status, code, message in cases:
        resp = _bind(client, factory, member, **body)
        assert (resp.status_code, resp.json["code"]) == (status, code), (body, resp.json)
        if message:
            assert resp.json["message"] == message
    # Already bound to that very promoter: answered bound, nothing queued.
    assert _bind(client, factory, fan, scene=f"i={promoter.invite_code}").json == {
        "status": "bound", "parent_id": promoter.id}
    assert _count(BindRequest) == 0


def test_a_surge_binding_is_one_statement(client, factory, worker_mode):
    # A new member's request is ONE statement: the request queued straight from the
    # promoter's row, the caller's token state (active, this version) checked in the
    # same WHERE, so neither Redis nor a read of the member first (the tenant's status
    # is kept per process). Without RETURNING (MySQL 8, TiDB) the promoter's id is read back.
    from sqlalchemy import event

    from backend import returning

    t = factory.tenant()
    promoter = factory.member(t)
    fans = [factory.member(t) for _ in range(3)]
    headers = [factory.member_headers(f) for f in fans]
    scene, promoter_id = f"i={promoter.invite_code}", promoter.id  # read here, not while counting
    assert _bind(client, factory, factory.member(t), scene=scene).status_code == 200  # warm
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        answers = [client.post("/api/v1/mp/me/bind", headers=h, json={"source": "share", "scene": scene})
                   for h in headers]
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert [a.json for a in answers] == [{"status": "queued", "parent_id": promoter_id}] * 3
    per_request = 1 if returning.supported(db.engine) else 2
    assert len(seen) == 3 * per_request, "\n".join(s[:120] for s in seen)
    assert sum(s.startswith("INSERT INTO member_bind_inbox") for s in seen) == 3
    assert _drain() == 4
    assert _count(Member, Member.parent_id == promoter_id) == 4


def test_a_revoked_or_frozen_callers_binding_is_refused_as_such_and_writes_nothing(client, factory, worker_mode):
    # The token state is checked in the queueing statement; whatever that statement and
    # the read after it would answer, a revoked token is answered token_revoked first
    # and its request is not queued.
    t = factory.tenant()
    promoter, fan, frozen = factory.member(t), factory.member(t), factory.member(t)
    old, frozen_h = factory.member_headers(fan), factory.member_headers(frozen)
    with unit_of_work():
        members.logout(tenant_id=t.id, member_id=fan.id)
        members.adjust_member(tenant_id=t.id, member_id=frozen.id, changes={"status": "frozen"}, actor="test")
    scene = f"i={promoter.invite_code}"
    for headers, body in ((old, {"source": "share", "scene": scene}),
                          (old, {"source": "share", "scene": "i=ZZZZZZ"}),  # unknown code: still the token first
                          (old, {"source": "share", "scene": f"i={fan.invite_code}"}),  # itself
                          (old, {"source": "nonsense"}),  # an invalid body too
                          (frozen_h, {"source": "share", "scene": scene})):
        resp = client.post("/api/v1/mp/me/bind", headers=headers, json=body)
        assert (resp.status_code, resp.json["code"]) == (401, "token_revoked"), (body, resp.json)
    assert _count(BindRequest) == 0
    # A fresh token of the same member binds.
    fresh = factory.member_headers(db.session.get(Member, fan.id))
    assert client.post("/api/v1/mp/me/bind", headers=fresh, json={"source": "share", "scene": scene}
                       ).json["status"] == "queued"


def test_inline_binding_checks_the_token_before_it_binds(client, factory):
    t = factory.tenant()
    promoter, fan = factory.member(t), factory.member(t)
    old = factory.member_headers(fan)
    with unit_of_work():
        members.logout(tenant_id=t.id, member_id=fan.id)
    resp = client.post("/api/v1/mp/me/bind", headers=old, json={"source": "share", "scene": f"i={promoter.invite_code}"})
    assert (resp.status_code, resp.json["code"]) == (401, "token_revoked")
    assert _count(Member, Member.parent_id == promoter.id) == 0


def test_a_log_in_caches_the_token_state_its_next_request_checks(client, factory):
    # The log-in caches the state it committed: the request that follows it checks the
    # token against Redis, not the database; a log-out still ends the session at once.
    from sqlalchemy import event

    t = factory.tenant()
    login = client.post("/api/v1/mp/login", json={"tenant": t.slug, "code": "wx-code-newcomer"})
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.json['token']}"}
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get("/api/v1/mp/me/team/summary", headers=headers).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert not [s for s in seen if s.startswith("SELECT members.status, members.token_version FROM")], seen
    assert client.post("/api/v1/mp/logout", headers=headers).status_code == 200
    assert client.get("/api/v1/mp/me", headers=headers).json["code"] == "token_revoked"


def test_the_one_statement_queue_keeps_to_the_callers_tenant_and_leaves_rebinding_to_the_read(
        client, factory, worker_mode):
    t, other_tenant = factory.tenant(allow_rebind=True), factory.tenant()
    first, second, stranger = factory.member(t), factory.member(t), factory.member(other_tenant)
    fan = factory.member(t, parent=first)
    resp = _bind(client, factory, fan, scene=f"i={stranger.invite_code}")  # another tenant's code
    assert (resp.status_code, resp.json["code"]) == (404, "invite_code_unknown")
    assert _count(BindRequest) == 0
    # Bound already, and the tenant lets members change their promoter: queued by the read.
    assert _bind(client, factory, fan, scene=f"i={second.invite_code}").json == {
        "status": "queued", "parent_id": second.id}
    assert _drain() == 1
    me = client.get("/api/v1/mp/me", headers=factory.member_headers(fan)).json
    assert (me["parent_id"], me["bind_request"]["status"]) == (second.id, "rebound")


def test_what_changed_before_the_worker_is_decided_there_and_shown_to_the_member(client, factory, worker_mode):
    t = factory.tenant()
    promoter, other, fan = factory.member(t), factory.member(t), factory.member(t)
    assert _bind(client, factory, fan, scene=f"i={promoter.invite_code}").json["status"] == "queued"
    with unit_of_work():  # meanwhile the promoter loses its standing, and the fan is bound elsewhere
        members.adjust_member(tenant_id=t.id, member_id=promoter.id, changes={"promoter_status": "frozen"},
                              actor="test")
    assert _drain() == 1
    me = client.get("/api/v1/mp/me", headers=factory.member_headers(fan)).json
    assert me["parent_id"] is None
    assert (me["bind_request"]["status"], me["bind_request"]["code"], me["bind_request"]["message"]) == (
        "refused", "parent_not_promoter", "对方还不是推广员，无法绑定")
    # A new request is the one /mp/me shows.
    assert _bind(client, factory, fan, scene=f"i={other.invite_code}").json["status"] == "queued"
    assert client.get("/api/v1/mp/me", headers=factory.member_headers(fan)).json["bind_request"]["status"] == "queued"
    _drain()
    me = client.get("/api/v1/mp/me", headers=factory.member_headers(fan)).json
    assert (me["parent_id"], me["bind_request"]["status"]) == (other.id, "bound")


def test_a_bind_on_purchase_tenant_parks_the_queued_binding_as_pending(client, factory, worker_mode):
    t = factory.tenant(bind_on="purchase")
    promoter, fan = factory.member(t), factory.member(t)
    assert _bind(client, factory, fan, scene=f"i={promoter.invite_code}").json["status"] == "queued"
    _drain()
    me = client.get("/api/v1/mp/me", headers=factory.member_headers(fan)).json
    assert (me["parent_id"], me["pending_parent_id"], me["bind_request"]["status"]) == (None, promoter.id, "pending")


def test_double_taps_and_several_tenants_in_one_batch(client, factory, worker_mode):
    a, b = factory.tenant(), factory.tenant()
    pa, pb = factory.member(a), factory.member(b)
    fans_a = [factory.member(a) for _ in range(4)]
    fans_b = [factory.member(b) for _ in range(3)]
    for f in fans_a:
        _bind(client, factory, f, scene=f"i={pa.invite_code}")
    for f in fans_b:
        _bind(client, factory, f, scene=f"i={pb.invite_code}")
    _bind(client, factory, fans_a[0], scene=f"i={pa.invite_code}")  # a second tap before the worker
    assert _drain() == 8
    assert _count(Binding, Binding.parent_id == pa.id) == 4 and _count(Binding, Binding.parent_id == pb.id) == 3
    assert points.balance_of(tenant_id=a.id, member_id=pa.id) == 40
    assert points.balance_of(tenant_id=b.id, member_id=pb.id) == 30
    assert members.team_summary(tenant_id=a.id, member_id=pa.id)["level1"] == 4
    outcomes = {r.outcome for r in db.session.scalars(select(BindRequest))}
    assert outcomes == {"bound"}


def test_a_crash_between_claim_and_commit_loses_nothing_and_doubles_nothing(client, factory, worker_mode):
    t = factory.tenant()
    promoter = factory.member(t)
    fans = [factory.member(t) for _ in range(5)]
    for f in fans:
        _bind(client, factory, f, scene=f"i={promoter.invite_code}")
    db.session.rollback()

    class Crash(Exception):
        pass

    def dying(rows: Any, now: Any) -> Any:
        bind_inbox._apply(rows, now)  # the bindings are written …
        raise Crash  # … and the process dies before the batch commits

    with pytest.raises(Crash):
        run_in_unit_of_work(lambda: bind_inbox.INBOX.process_batch(apply=dying, now=utcnow()))
    db.session.rollback()
    assert _count(Member, Member.parent_id == promoter.id) == 0  # rolled back with the claim
    assert _count(BindRequest, BindRequest.pending.is_(True)) == 5
    assert _drain() == 5  # the restart takes them all again
    assert _count(Binding, Binding.parent_id == promoter.id) == 5
    assert points.balance_of(tenant_id=t.id, member_id=promoter.id) == 50


def test_inline_mode_binds_in_the_request_and_leaves_the_inbox_empty(client, factory):
    t = factory.tenant()
    promoter, fan = factory.member(t), factory.member(t)
    assert _bind(client, factory, fan, scene=f"i={promoter.invite_code}").json == {
        "status": "bound", "parent_id": promoter.id}
    assert _count(BindRequest) == 0
    assert client.get("/api/v1/mp/me", headers=factory.member_headers(fan)).json["bind_request"] is None


def test_mp_bind_inbox_setting_is_validated():
    with pytest.raises(ConfigError, match="MP_BIND_INBOX"):
        load_settings({"MP_BIND_INBOX": "later"})
    assert load_settings({}).mp_bind_inbox == "inline"
    assert load_settings({"MP_BIND_INBOX": "worker"}).mp_bind_inbox == "worker"


@pytest.mark.mariadb
def test_four_workers_draining_one_inbox_bind_every_member_once(app, client, factory, worker_mode):
    t = factory.tenant()
    root = factory.member(t)
    promoters = [factory.member(t, parent=root) for _ in range(3)]
    fans = [factory.member(t) for _ in range(24)]
    for i, f in enumerate(fans):
        _bind(client, factory, f, scene=f"i={promoters[i % 3].invite_code}")
    db.session.rollback()
    outcomes = race(app, own_unit=False, jobs=[lambda: bind_inbox.bind_requests(limit=4) for _ in range(4)])
    assert all(isinstance(o, int) for o in outcomes), outcomes
    _drain()  # whatever a runner left for its next interval
    assert _count(BindRequest, BindRequest.pending.is_(True)) == 0
    for p in promoters:
        assert _count(Binding, Binding.parent_id == p.id) == 8
        assert points.balance_of(tenant_id=t.id, member_id=p.id) == 80
    assert members.team_summary(tenant_id=t.id, member_id=root.id)["total"] == 27
