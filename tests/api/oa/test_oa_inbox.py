"""OA_INBOX=worker: the endpoint verifies a follow/scan push, writes it to the inbox in
one statement and answers at once; the job `oa.bind_followers` binds in batches, each
event exactly once, whatever dies in between."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.config import ConfigError, load_settings
from backend.db import run_in_unit_of_work, utcnow
from backend.extensions import db
from backend.members.models import Binding, Member
from backend.oa import inbox
from backend.oa import jobs as oa_jobs
from backend.oa import service as oa
from backend.oa.models import OaInboxEvent
from backend.wechat.sandbox import flask_client_sender
from backend.wechat.service import credentials
from tests.concurrency import race


@pytest.fixture()
def worker_mode(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = dataclasses.replace(app.config["SIYU_SETTINGS"], oa_inbox="worker")
    monkeypatch.setitem(app.config, "SIYU_SETTINGS", settings)


@pytest.fixture()
def oa_tenant(factory: Any, sandbox: Any, client: Any) -> Any:
    t = factory.tenant()
    sandbox.register_tenant(credentials(tenant_id=t.id), oa_push_url=f"/oa/{t.slug}")
    return t


def _appid(t: Any) -> str:
    return credentials(tenant_id=t.id).official_account.appid


def _count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _follow(sandbox: Any, client: Any, t: Any, promoter: Any, user: str, create_time: int | None = None) -> Any:
    """A follow through the promoter's QR (subscribe, qrscene_i=<code>), optionally
    with a given CreateTime (WeChat's retry of one push carries the same)."""
    appid = _appid(t)
    extra = {"Event": "subscribe", "EventKey": f"qrscene_i={promoter.invite_code}"}
    if create_time is not None:
        extra["CreateTime"] = create_time
    fields = sandbox._oa_fields(sandbox._oa(appid), user, "event", **extra)
    return sandbox.push_oa(appid, fields, send=flask_client_sender(client))


def test_a_follow_is_answered_at_once_and_bound_by_the_worker(client, factory, sandbox, oa_tenant, worker_mode):
    promoter = factory.member(oa_tenant, nickname="推广达人")
    result = _follow(sandbox, client, oa_tenant, promoter, "fan-1")
    assert result.result.status_code == 200 and "欢迎" in result.reply_text
    assert _count(Member, Member.parent_id == promoter.id) == 0  # not yet: it waits in the inbox
    assert _count(OaInboxEvent, OaInboxEvent.pending.is_(True)) == 1
    openid = sandbox.openid_for(_appid(oa_tenant), "fan-1")
    assert inbox.has_pending(tenant_id=oa_tenant.id, openid=openid)

    db.session.rollback()
    assert oa_jobs.bind_followers(now=None) == 1  # type: ignore[arg-type]
    follower = db.session.scalar(select(Member).where(Member.parent_id == promoter.id))
    assert follower is not None and follower.oa_openid == openid
    assert _count(Binding, Binding.member_id == follower.id, Binding.source == "oa_qrcode") == 1
    assert _count(OaInboxEvent, OaInboxEvent.pending.is_(True)) == 0
    assert not inbox.has_pending(tenant_id=oa_tenant.id, openid=openid)
    db.session.rollback()
    assert oa.bind_followers() == 0  # nothing left: a second run changes nothing


def test_a_wechat_retry_of_the_same_event_is_one_inbox_row(client, factory, sandbox, oa_tenant, worker_mode):
    promoter = factory.member(oa_tenant)
    first = _follow(sandbox, client, oa_tenant, promoter, "fan-2", create_time=1_700_000_000)
    again = _follow(sandbox, client, oa_tenant, promoter, "fan-2", create_time=1_700_000_000)
    assert first.result.status_code == again.result.status_code == 200
    assert _count(OaInboxEvent) == 1
    db.session.rollback()
    assert oa.bind_followers() == 1
    assert _count(Member, Member.parent_id == promoter.id) == 1


def test_the_security_checks_still_come_first(client, factory, sandbox, oa_tenant, worker_mode):
    promoter = factory.member(oa_tenant)
    result = _follow(sandbox, client, oa_tenant, promoter, "fan-3")
    again = flask_client_sender(client)(result.request)  # the very same delivery: same nonce
    assert again.status_code == 403 and "push_replayed" in again.body
    forged = client.post(f"/oa/{oa_tenant.slug}?signature=bad&timestamp=1&nonce=1", data=b"<xml></xml>")
    assert forged.status_code == 403
    assert _count(OaInboxEvent) == 1


def test_a_surge_of_pushes_is_one_statement_each_after_the_first(client, factory, sandbox, oa_tenant, worker_mode):
    # The tenant's credentials are kept per process for a few seconds: a push is its
    # INSERT IGNORE into the inbox, not a read of the tenant first.
    from sqlalchemy import event

    promoter = factory.member(oa_tenant)
    appid = _appid(oa_tenant)
    seen: list[str] = []
    send = flask_client_sender(client)

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    def counted(w: Any) -> Any:  # only what the endpoint runs
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            return send(w)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)

    for i in range(4):
        fields = sandbox._oa_fields(sandbox._oa(appid), f"surge-{i}", "event", Event="subscribe",
                                    EventKey=f"qrscene_i={promoter.invite_code}")
        assert sandbox.push_oa(appid, fields, send=counted).result.status_code == 200
        if i == 0:
            assert len(seen) == 2  # the tenant's credentials, then the INSERT
            seen.clear()
    assert len(seen) == 3 and all("oa_inbox" in s for s in seen)
    assert _count(OaInboxEvent, OaInboxEvent.pending.is_(True)) == 4


def test_rotated_credentials_are_picked_up_at_the_first_push_and_the_old_ones_refused(
        client, factory, sandbox, oa_tenant, worker_mode):
    # Rotated in another process (no cache of this one dropped): the first push signed
    # with the new token does not verify against the cached one, is checked again
    # against the stored credentials, and passes; a push with the old token then fails.
    from backend.db import unit_of_work
    from backend.tenants.service import update_credentials

    promoter = factory.member(oa_tenant)
    assert _follow(sandbox, client, oa_tenant, promoter, "before").result.status_code == 200  # cached
    old = credentials(tenant_id=oa_tenant.id)
    with unit_of_work():
        update_credentials(tenant_id=oa_tenant.id, credentials={"oa_token": "rotated-token-0001"}, actor="test")
    sandbox.register_tenant(credentials(tenant_id=oa_tenant.id), oa_push_url=f"/oa/{oa_tenant.slug}")
    assert _follow(sandbox, client, oa_tenant, promoter, "after").result.status_code == 200
    sandbox.register_tenant(old, oa_push_url=f"/oa/{oa_tenant.slug}")  # a sender that kept the old token
    stale = _follow(sandbox, client, oa_tenant, promoter, "old-token")
    assert stale.result.status_code == 403
    assert _count(OaInboxEvent) == 2


def test_a_crash_between_claim_and_commit_loses_nothing_and_doubles_nothing(
        app, client, factory, sandbox, oa_tenant, worker_mode, monkeypatch):
    promoter = factory.member(oa_tenant)
    for i in range(5):
        _follow(sandbox, client, oa_tenant, promoter, f"crash-{i}")
    db.session.rollback()
    class Crash(Exception):
        pass

    def dying(rows: Any, now: Any) -> None:
        oa._bind_events(rows, now)  # the bindings are written …
        raise Crash  # … and the process dies before the batch commits

    with pytest.raises(Crash):
        run_in_unit_of_work(lambda: inbox.process_batch(apply=dying, now=utcnow()))
    db.session.rollback()
    assert _count(Member, Member.parent_id == promoter.id) == 0  # rolled back with the claim
    assert _count(OaInboxEvent, OaInboxEvent.pending.is_(True)) == 5

    assert oa.bind_followers() == 5  # the restart takes them all again
    assert _count(Member, Member.parent_id == promoter.id) == 5
    assert _count(Binding, Binding.parent_id == promoter.id) == 5
    assert _count(OaInboxEvent, OaInboxEvent.pending.is_(True)) == 0


def test_inline_mode_binds_in_the_request_and_leaves_the_inbox_empty(client, factory, sandbox, oa_tenant):
    promoter = factory.member(oa_tenant, nickname="推广达人")
    result = _follow(sandbox, client, oa_tenant, promoter, "fan-4")
    assert "推广达人" in result.reply_text
    assert _count(Member, Member.parent_id == promoter.id) == 1
    assert _count(OaInboxEvent) == 0


def test_oa_inbox_setting_is_validated():
    with pytest.raises(ConfigError, match="OA_INBOX"):
        load_settings({"OA_INBOX": "later"})
    assert load_settings({"OA_INBOX": "worker"}).oa_inbox == "worker"


@pytest.mark.mariadb
def test_four_workers_draining_one_inbox_bind_every_follower_once(app, client, factory, sandbox, oa_tenant,
                                                                  worker_mode):
    promoters = [factory.member(oa_tenant) for _ in range(3)]
    for i in range(24):
        _follow(sandbox, client, oa_tenant, promoters[i % 3], f"race-{i}")
    db.session.rollback()
    outcomes = race(app, own_unit=False, jobs=[lambda: inbox.drain(apply=oa._bind_events, limit=4)
                                               for _ in range(4)])
    assert all(isinstance(o, int) for o in outcomes), outcomes
    oa.bind_followers()  # whatever a runner left for its next interval
    assert _count(OaInboxEvent, OaInboxEvent.pending.is_(True)) == 0
    for p in promoters:
        assert _count(Binding, Binding.parent_id == p.id) == 8
    assert _count(Member, Member.oa_openid.is_not(None)) == 24


def test_the_member_sees_the_binding_pending_then_bound(client, factory, sandbox, oa_tenant, worker_mode):
    promoter = factory.member(oa_tenant)
    sandbox.oa_event(_appid(oa_tenant), "u-pend", "subscribe", send=flask_client_sender(client))  # no scene
    db.session.rollback()
    oa.bind_followers()
    login = client.post("/api/v1/mp/login", json={"tenant": oa_tenant.slug, "code": "u-pend"}).json
    headers = {"Authorization": f"Bearer {login['token']}"}
    assert client.get("/api/v1/mp/me", headers=headers).json["follow_pending"] is False
    qr = client.get("/api/v1/mp/me/oa-qrcode", headers=factory.member_headers(promoter)).json
    scan = sandbox.scan_oa_qrcode(qr["ticket"], "u-pend", send=flask_client_sender(client))  # SCAN
    assert scan.result.status_code == 200
    me = client.get("/api/v1/mp/me", headers=headers).json
    assert (me["follow_pending"], me["parent_id"]) == (True, None)
    db.session.rollback()
    oa.bind_followers()
    me = client.get("/api/v1/mp/me", headers=headers).json
    assert (me["follow_pending"], me["parent_id"]) == (False, promoter.id)
