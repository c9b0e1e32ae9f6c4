"""WeChat slow or down (issue #17), with the sandbox's outage controls: every external
call gives up at the gateway's timeout with a clear 503, and what must reach WeChat
(alerts in the outbox, withdrawals' transfers) is retried with backoff and goes out
once when WeChat is back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from wechatpy.session.memorystorage import MemoryStorage

from backend.db import unit_of_work
from backend.extensions import db
from backend.finance import jobs as finance_jobs
from backend.finance import withdrawals as wd
from backend.finance.models import Withdrawal
from backend.notifications import dispatch, service
from backend.notifications.models import OutboxMessage
from backend.wechat.errors import WeChatUnavailable
from backend.wechat.gateway import WeChatGateway
from backend.wechat.settings import GatewaySettings
from tests.finance_factories import T0, assert_ledger_balanced, balances, give_available
from tests.notifications_factories import link, wecom_texts


@pytest.fixture()
def outage(sandbox: Any) -> Iterator[Any]:
    """The sandbox's outage controls, always switched back off."""
    try:
        yield sandbox
    finally:
        sandbox.down, sandbox.delay_seconds = False, 0.0


def test_a_slow_wechat_fails_the_call_at_the_gateways_timeout(outage: Any, factory: Any) -> None:
    from backend.wechat.service import credentials

    t = factory.tenant()
    mp = credentials(tenant_id=t.id).mini_program
    gw = WeChatGateway(GatewaySettings(mode="sandbox", sandbox_url=outage.url, timeout_seconds=0.3),
                       session=MemoryStorage())
    outage.delay_seconds = 1.0
    with pytest.raises(WeChatUnavailable):
        gw.mini_program(mp).code_to_session("slow-code")
    outage.delay_seconds = 0.0
    assert gw.mini_program(mp).code_to_session("slow-code").openid  # back to normal


def test_with_wechat_down_a_login_answers_503_in_chinese(client: Any, factory: Any, outage: Any) -> None:
    t = factory.tenant()
    outage.down = True
    resp = client.post("/api/v1/mp/login", json={"tenant": t.slug, "code": "someone"})
    assert resp.status_code == 503
    assert resp.json == {"code": "wechat_unavailable", "message": "无法连接微信服务，请稍后再试"}
    outage.down = False
    assert client.post("/api/v1/mp/login", json={"tenant": t.slug, "code": "someone"}).status_code == 200


def test_the_console_control_sets_and_ends_an_outage(outage: Any) -> None:
    import requests

    on = requests.post(f"{outage.url}/sandbox/controls/outage", json={"delay_seconds": "0.5", "down": "on"},
                       timeout=10)
    assert on.status_code == 200 and (outage.down, outage.delay_seconds) == (True, 0.5)
    assert requests.get(f"{outage.url}/api/cgi-bin/token", timeout=10).status_code == 503
    off = requests.post(f"{outage.url}/sandbox/controls/outage", json={"delay_seconds": "0", "down": "off"},
                        timeout=10)
    assert off.status_code == 200 and (outage.down, outage.delay_seconds) == (False, 0.0)
    bad = requests.post(f"{outage.url}/sandbox/controls/outage", json={"delay_seconds": "soon"}, timeout=10)
    assert bad.status_code == 400


def test_an_alert_waits_out_the_outage_with_backoff_and_goes_out_once(factory: Any, outage: Any) -> None:
    outage.clear_records()
    tenant = factory.tenant()
    member = factory.member(tenant, nickname="小美")
    link(tenant, transport="wecom", contact_id=f"staff-{member.id}", member=member, now=T0)
    with unit_of_work():
        service.enqueue_withdrawal_alert(tenant_id=tenant.id, member_id=member.id, withdrawal_id=9,
                                         amount_fen=10050, status="paid", now=T0)
    outage.down = True
    first = dispatch.deliver_due(now=T0)
    assert (first.sent, first.failed) == (0, 1)
    db.session.rollback()
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.tenant_id == tenant.id))
    assert (row.status, row.attempts) == ("pending", 1) and row.next_attempt_at > T0  # backoff
    assert dispatch.deliver_due(now=T0 + timedelta(seconds=5)).sent == 0  # not due yet
    outage.down = False
    later = row.next_attempt_at
    assert dispatch.deliver_due(now=later).sent == 1
    assert dispatch.deliver_due(now=later + timedelta(hours=1)).sent == 0
    assert wecom_texts(outage, tenant, f"staff-{member.id}") == [f"【{tenant.name}】提现结果：¥100.50 已到账。"]


def test_a_withdrawal_during_the_outage_is_paid_once_when_wechat_returns(factory: Any, outage: Any) -> None:
    from tests.finance_factories import rules

    tenant = factory.tenant()
    rules(tenant, auto_approve_below_fen=5000)
    member = factory.member(tenant)
    give_available(tenant, member, 10_000)
    outage.down = True
    with unit_of_work():
        w = wd.apply_withdrawal(tenant_id=tenant.id, member_id=member.id, amount_fen=2000, now=T0)
    wid = w.id
    db.session.expire_all()
    w = db.session.get(Withdrawal, wid)
    assert (w.status, w.payout_attempts) == ("approved", 1) and w.last_error  # kept, to retry
    assert balances(tenant, member)["available"] == 8000
    finance_jobs.reconcile_withdrawals(now=T0 + timedelta(minutes=5))  # tried again: still down
    db.session.expire_all()
    assert (db.session.get(Withdrawal, wid).status, db.session.get(Withdrawal, wid).payout_attempts) == ("approved", 2)
    outage.down = False
    assert finance_jobs.reconcile_withdrawals(now=T0 + timedelta(minutes=15)) == 1
    db.session.expire_all()
    w = db.session.get(Withdrawal, wid)
    assert w.status in ("paying", "paid")
    assert [k for k in outage.transfers if k[1] == w.out_bill_no] == [(tenant.pay_mchid, w.out_bill_no)]
    assert balances(tenant, member)["available"] == 8000
    assert_ledger_balanced(tenant)


def test_the_apps_gateway_takes_its_timeout_from_the_settings(app: Any, monkeypatch: Any) -> None:
    from backend.config import ConfigError, load_settings
    from backend.wechat.service import gateway

    assert gateway().settings.timeout_seconds == app.config["SIYU_SETTINGS"].wechat_timeout_seconds == 10.0
    assert load_settings({"WECHAT_TIMEOUT_SECONDS": "2.5"}).wechat_timeout_seconds == 2.5
    for bad in ("soon", "0", "600"):
        with pytest.raises(ConfigError):
            load_settings({"WECHAT_TIMEOUT_SECONDS": bad})
