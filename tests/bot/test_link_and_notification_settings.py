"""A member links a WeChat or WeCom identity through the product (a one-time code from
the mini-program API, sent to the bot), and reads and changes notification settings."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from sqlalchemy import select

from backend.db import unit_of_work, utcnow
from backend.extensions import db, get_redis
from backend.notifications import service as notify
from backend.notifications.contacts import get_contact
from backend.notifications.models import LinkCode
from bot.assistant import Assistant
from bot.memory_bridge import add_memory_bridge
from bot.memory_puppet import MemoryPuppet
from bot.wechaty_transport import WechatyTransport
from bot.wecom_transport import create_wecom_app
from tests.bot.test_wecom_bot import say
from tests.notifications_factories import wecom_texts


def _link_code(client: Any, headers: dict[str, str]) -> str:
    res = client.post("/api/v1/mp/me/bot-link-code", headers=headers)
    assert res.status_code == 201, res.get_json()
    body = res.get_json()
    assert body["expires_in"] == 600 and f"绑定 {body['code']}" in body["message"]
    return str(body["code"])


def test_a_member_links_their_wecom_identity_with_a_code_from_the_mini_program(
        app: Any, client: Any, factory: Any, sandbox: Any) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant, nickname="小美")
    headers = factory.member_headers(member)
    code = _link_code(client, headers)
    # The code is a database row, not a key in one process's Redis.
    get_redis().flushdb()
    assert db.session.scalar(select(LinkCode.member_id).where(LinkCode.code == code)) == member.id
    db.session.rollback()
    assert say(app, sandbox, tenant, "xiaomei", f"绑定 {code}") == 200
    assert wecom_texts(sandbox, tenant, "xiaomei")[0].startswith("绑定成功")
    db.session.rollback()
    contact = get_contact(tenant_id=tenant.id, transport="wecom", contact_id="xiaomei")
    assert contact is not None and contact.member_id == member.id
    # Single use: the row is gone, a second try fails.
    assert db.session.scalar(select(LinkCode).where(LinkCode.code == code)) is None
    db.session.rollback()
    assert say(app, sandbox, tenant, "someone-else", f"绑定 {code}") == 200
    assert "无效" in wecom_texts(sandbox, tenant, "someone-else")[0]
    view = client.get("/api/v1/mp/me/notifications/settings", headers=headers).get_json()
    assert view["links"][0]["transport"] == "wecom" and view["channels"]["wecom"] is True
    assert view["routes"]["alerts"]["channel"] == "wecom"
    # A new code replaces the earlier one.
    _link_code(client, headers)
    second = _link_code(client, headers)
    codes = list(db.session.scalars(select(LinkCode.code).where(LinkCode.member_id == member.id)))
    assert codes == [second]


def test_preferences_consent_and_messages_per_kind(client: Any, factory: Any) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant)
    headers = factory.member_headers(member)
    view = client.get("/api/v1/mp/me/notifications/settings", headers=headers).get_json()
    assert view["routes"]["alerts"] == {"channel": None, "channel_name": None, "reason": "no_channel",
                                        "reason_text": "没有可用的通知渠道：请绑定机器人或在小程序中同意订阅消息"}
    with unit_of_work():
        notify.update_settings(tenant_id=tenant.id, actor="test", now=utcnow(),
                               changes={"alert_template_id": "tpl-alert", "daily_template_id": "tpl-daily"})
    res = client.post("/api/v1/mp/me/notifications/subscribe", headers=headers,
                      json={"results": {"tpl-alert": "accept", "tpl-daily": "reject", "other": "accept"}})
    assert res.status_code == 200, res.get_json()
    view = res.get_json()
    assert view["preferences"]["alert_credits"] == 1 and view["preferences"]["daily_credits"] == 0
    assert view["routes"]["alerts"]["channel"] == "subscribe"
    assert view["routes"]["daily_summary"]["reason"] == "no_channel"
    assert view["subscribe_templates"] == {"daily_summary": "tpl-daily", "alerts": "tpl-alert"}
    res = client.patch("/api/v1/mp/me/notifications/settings", headers=headers, json={"alerts_enabled": False})
    assert res.get_json()["routes"]["alerts"]["reason"] == "opted_out"
    bad = client.patch("/api/v1/mp/me/notifications/settings", headers=headers, json={"channel": "fax"})
    assert bad.status_code == 400 and bad.get_json()["code"]
    bad = client.post("/api/v1/mp/me/notifications/subscribe", headers=headers, json={"results": {"x": "maybe"}})
    assert bad.status_code == 400


def test_an_alert_with_no_channel_shows_as_such(client: Any, factory: Any) -> None:
    from backend.notifications.jobs import deliver_notifications

    tenant = factory.tenant()
    parent = factory.member(tenant)
    member = factory.member(tenant, parent=parent)
    with unit_of_work():
        notify.enqueue_team_member_alert(tenant_id=tenant.id, member_id=member.id, now=utcnow())
    deliver_notifications(now=utcnow())
    items = client.get("/api/v1/mp/me/notifications", headers=factory.member_headers(parent)).get_json()["items"]
    assert [(i["kind"], i["status"], i["reason"]) for i in items] == [("team_member", "skipped", "no_channel")]
    assert items[0]["status_text"].startswith("未发送：没有可用的通知渠道")
    other = client.get("/api/v1/mp/me/notifications", headers=factory.member_headers(member)).get_json()
    assert other["items"] == []


def test_the_console_writes_to_the_bot_through_the_memory_bridge(app: Any, client: Any, factory: Any,
                                                                 sandbox: Any) -> None:
    """The sandbox console's personal-WeChat control, end to end: sandbox -> the bot's
    local HTTP bridge -> the in-memory puppet in a running wechaty -> the reply."""
    import requests
    from werkzeug.serving import make_server

    tenant = factory.tenant()
    member = factory.member(tenant, nickname="小美")
    code = _link_code(client, factory.member_headers(member))
    tenant_id, invite_code = tenant.id, member.invite_code
    puppet = MemoryPuppet()
    loop_holder: list[asyncio.AbstractEventLoop] = []
    web = create_wecom_app(app)
    add_memory_bridge(web, puppet, loop_holder)
    server = make_server("127.0.0.1", 0, web, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()

    async def bot() -> None:
        transport = WechatyTransport(Assistant(app, tenant_id), puppet)
        await transport.start()
        puppet.login("wxid_bot")
        loop_holder.append(asyncio.get_running_loop())
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await transport.stop()

    thread = threading.Thread(target=asyncio.run, args=(bot(),), daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if loop_holder:
                break
            threading.Event().wait(0.05)
        sandbox.bot_url = f"http://127.0.0.1:{server.server_port}"
        res = requests.post(f"{sandbox.url}/sandbox/controls/wechat_text", timeout=30,
                            json={"contact": "wxid_mei", "name": "小美", "content": f"绑定 {code}"})
        assert res.status_code == 200, res.text
        assert res.json()["result"]["replies"][0].startswith("绑定成功")
        res = requests.post(f"{sandbox.url}/sandbox/controls/wechat_text", timeout=30,
                            json={"contact": "wxid_mei", "content": "邀请码"})
        assert invite_code in res.json()["result"]["replies"][0]
    finally:
        stop.set()
        thread.join(timeout=10)
        server.shutdown()
        sandbox.bot_url = ""
    db.session.rollback()
    contact = get_contact(tenant_id=tenant.id, transport="wechaty", contact_id="wxid_mei")
    assert contact is not None and contact.member_id == member.id
