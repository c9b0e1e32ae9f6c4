"""Outages (issue #17): a database that cannot be reached answers a fast 503 with a
stable code; with Redis down the product keeps taking payments, bindings and
withdrawals, log-ins fail closed and other limits fail open (docs/operations.md)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from backend.app import database_unavailable
from backend.extensions import db, redis_holder
from backend.ratelimit import RateLimited, build_limiter
from tests.finance_factories import assert_ledger_balanced, balances, give_available
from tests.outage import dead_redis
from tests.ports import free_port


class RedisOutage:
    """Swaps the app's Redis for one that does not answer, and back. The limiter and
    the WeChat gateway hold the client they were built with: they are rebuilt."""

    BUILT_ON_REDIS = ("siyu_limiter", "siyu_wechat")

    def __init__(self, app: Any) -> None:
        self.app = app
        self.saved: tuple[Any, dict[str, Any]] | None = None

    def start(self) -> None:
        self.saved = redis_holder.client, {k: self.app.extensions.pop(k) for k in self.BUILT_ON_REDIS
                                           if k in self.app.extensions}
        redis_holder.client = dead_redis()

    def end(self) -> None:
        if self.saved is not None:
            redis_holder.client = self.saved[0]
            for k in self.BUILT_ON_REDIS:
                self.app.extensions.pop(k, None)
            self.app.extensions.update(self.saved[1])
            self.saved = None


@pytest.fixture()
def outage(app: Any) -> Iterator[RedisOutage]:
    """Redis down from outage.start() to the end of the test (restored before the
    tables and Redis are emptied)."""
    o = RedisOutage(app)
    try:
        yield o
    finally:
        o.end()


@pytest.fixture()
def redis_down(outage: RedisOutage) -> RedisOutage:
    outage.start()
    return outage


# ------------------------------------------------------------------ the database down


def test_a_database_that_cannot_be_reached_answers_503_with_a_stable_code(app: Any, sandbox: Any) -> None:
    from backend.config import load_settings
    from miniprogram_api import create_web_app

    saved = redis_holder.client, redis_holder.is_real
    try:
        down = create_web_app(load_settings({
            "DATABASE_URL": f"mysql+pymysql://root@127.0.0.1:{free_port()}/siyu_nowhere",
            "WECHAT_SANDBOX_URL": sandbox.url, "SECRET_KEY": "test-secret"}))
    finally:
        redis_holder.client, redis_holder.is_real = saved  # the suite's Redis stays
    client = down.test_client()
    login = client.post("/api/v1/mp/login", json={"tenant": "demo", "code": "demo-alice"})
    assert login.status_code == 503
    assert login.json == {"code": "database_unavailable", "message": "服务暂时不可用，请稍后再试"}
    assert login.headers["Retry-After"] == "5"
    staff = client.post("/api/v1/admin/login", json={"tenant": "demo", "username": "boss", "password": "x" * 8})
    assert (staff.status_code, staff.json["code"]) == (503, "database_unavailable")
    assert client.get("/readyz").status_code == 503
    assert client.get("/livez").status_code == 200


def mysql_error(cls: type, code: int) -> Exception:
    return cls("SELECT 1", {}, pymysql.err.OperationalError(code, "x"))


def test_a_request_still_deadlocked_after_its_retries_answers_503_busy(client: Any, factory: Any,
                                                                       monkeypatch: Any) -> None:
    """Contention, not a bug: the unit of work retried it whole three times; nothing was
    written, and the client is told to try again in a moment (never a 500)."""
    from backend.members import service as members

    t = factory.tenant()
    calls = []

    def deadlocked(**_: Any) -> Any:
        calls.append(1)
        raise mysql_error(OperationalError, 1213)

    monkeypatch.setattr(members, "login_with_code", deadlocked)
    answer = client.post("/api/v1/mp/login", json={"tenant": t.slug, "code": "someone"})
    assert (answer.status_code, answer.json) == (503, {"code": "database_busy", "message": "服务繁忙，请稍后再试"})
    assert answer.headers["Retry-After"] == "1" and len(calls) == 4  # the first try and three retries


@pytest.mark.parametrize("err, unavailable", [
    (mysql_error(OperationalError, 2003), True),   # can't connect
    (mysql_error(OperationalError, 2013), True),   # lost connection during query
    (mysql_error(OperationalError, 2006), True),   # server has gone away
    (mysql_error(OperationalError, 1053), True),   # shutdown in progress
    (mysql_error(OperationalError, 1213), False),  # a deadlock: retried, then a real error
    (mysql_error(ProgrammingError, 1146), False),  # no such table: a bug, a 500
    (ValueError("x"), False),
])
def test_only_connection_failures_count_as_the_database_being_unavailable(err: Exception,
                                                                          unavailable: bool) -> None:
    assert database_unavailable(err) is unavailable


# ------------------------------------------------------------------ Redis down: limits


def test_login_limits_fail_closed_and_the_others_fail_open_with_a_warning(caplog: Any) -> None:
    lim = build_limiter(dead_redis(), {})
    with pytest.raises(RateLimited) as refused:
        lim.hit("mp_login_ip", "10.0.0.1")
    assert refused.value.message == "登录保护暂时不可用，请稍后再试" and refused.value.retry_after == 30
    with pytest.raises(RateLimited):
        lim.check("staff_login_user", 1, "boss")
    with caplog.at_level(logging.WARNING, logger="siyu.redis"):
        lim.hit("withdraw_member", 1, "member", 7)  # let through
        lim.check("platform_fail_ip", "10.0.0.1")
    assert "limit withdraw_member not counted (fails open)" in caplog.text


def test_with_redis_down_logins_are_refused_in_chinese(client: Any, factory: Any, redis_down: Any) -> None:
    t = factory.tenant()
    mp = client.post("/api/v1/mp/login", json={"tenant": t.slug, "code": "someone"})
    assert mp.status_code == 429 and mp.json["code"] == "rate_limited"
    assert mp.json["message"] == "登录保护暂时不可用，请稍后再试" and mp.headers["Retry-After"] == "30"
    staff = client.post("/api/v1/admin/login", json={"tenant": t.slug, "username": "boss", "password": "x" * 8})
    assert staff.status_code == 429 and staff.json["message"] == "登录保护暂时不可用，请稍后再试"


def test_with_redis_down_tokens_are_checked_against_the_database(client: Any, factory: Any,
                                                                 redis_down: Any) -> None:
    t = factory.tenant()
    member = factory.member(t)
    headers = factory.member_headers(member)
    assert client.get("/api/v1/mp/me", headers=headers).status_code == 200
    assert client.post("/api/v1/mp/logout", headers=headers).status_code == 200
    revoked = client.get("/api/v1/mp/me", headers=headers)
    assert revoked.status_code == 401 and revoked.json["code"] == "token_revoked"


# ------------------------------------------------------------------ Redis down: money and bindings


def test_with_redis_down_a_payment_is_taken_and_rewarded_once(app: Any, sandbox: Any, factory: Any,
                                                              redis_down: Any) -> None:
    from backend.finance.models import RewardAccrual
    from tests.orders_factories import OrdersFactory

    shop = OrdersFactory(app, sandbox)
    t = factory.tenant()
    shop.plan(t)
    promoter = factory.member(t)
    buyer = factory.member(t, parent=promoter)
    _, sku = shop.product(t, price_fen=10000, cost_fen=4000)
    order = shop.order(t, buyer, [(sku, 1)])
    notification = shop.payment(t, buyer, order)
    first, again = shop.deliver(notification, times=2)
    assert first.result.status_code == 204 and again.result.status_code == 204
    accrued = db.session.execute(select(func.count(), func.sum(RewardAccrual.amount_fen)).where(
        RewardAccrual.tenant_id == t.id)).one()
    db.session.rollback()
    assert tuple(accrued) == (1, 1800)  # 30 % of the 6,000 fen profit, to the promoter, once
    assert balances(t, promoter)["frozen"] == 1800
    assert_ledger_balanced(t)


def test_with_redis_down_a_follow_binds_the_follower(client: Any, factory: Any, sandbox: Any,
                                                     redis_down: Any) -> None:
    """The push's nonce cannot be remembered and WeChat's access token (for the
    follower's profile) is kept per process: the follow still binds."""
    from backend.members.models import Member
    from backend.wechat.sandbox import flask_client_sender
    from backend.wechat.service import credentials

    t = factory.tenant()
    sandbox.register_tenant(credentials(tenant_id=t.id), oa_push_url=f"/oa/{t.slug}")
    promoter = factory.member(t)
    appid = credentials(tenant_id=t.id).official_account.appid
    result = sandbox.oa_event(appid, "fan-redis-down", "subscribe", event_key=f"qrscene_i={promoter.invite_code}",
                              send=flask_client_sender(client))
    assert result.result.status_code == 200
    follower = db.session.scalar(select(Member).where(Member.parent_id == promoter.id))
    db.session.rollback()
    assert follower is not None and follower.oa_openid


def test_with_redis_down_a_withdrawal_is_taken(client: Any, factory: Any, redis_down: Any, caplog: Any) -> None:
    t = factory.tenant()
    member = factory.member(t)
    give_available(t, member, 50_000)
    with caplog.at_level(logging.WARNING, logger="siyu.redis"):
        resp = client.post("/api/v1/mp/wallet/withdrawals", headers=factory.member_headers(member),
                           json={"amount_fen": 20_000, "client_token": "redis-down-1"})
    assert resp.status_code == 201, resp.json
    assert balances(t, member)["available"] == 30_000
    assert_ledger_balanced(t)
