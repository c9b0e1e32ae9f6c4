"""The personal-WeChat bot end to end: the in-memory puppet emits events, wechaty's own
event bridge and loop run our handlers, and we read what the bot sent back."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.service import bind_by_scene
from backend.notifications import service
from backend.notifications.contacts import get_contact, issue_link_code
from bot.assistant import Assistant
from bot.memory_puppet import MemoryPuppet
from bot.wechaty_transport import WechatyTransport
from tests.notifications_factories import freeze_reward, link, settle_reward

NOW = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)  # 14:00 in China
BOT = "wxid_bot"


def run(app: Any, tenant: Any, scenario: Callable[[MemoryPuppet, WechatyTransport], Awaitable[None]],
        clock: Callable[[], datetime] = lambda: NOW) -> MemoryPuppet:
    """Start wechaty on the memory puppet, log in, play the scenario; fail on any handler error."""
    puppet = MemoryPuppet()

    async def main() -> None:
        transport = WechatyTransport(Assistant(app, tenant.id, clock=clock), puppet, clock=clock)
        await transport.start()
        puppet.login(BOT)
        await puppet.settle()
        assert transport.logged_in.is_set()
        try:
            await scenario(puppet, transport)
            await puppet.settle()
        finally:
            await transport.stop()

    asyncio.run(main())
    assert puppet.errors == []
    return puppet


def code_for(tenant: Any, member: Any = None, staff: Any = None) -> str:
    with unit_of_work():
        return issue_link_code(tenant_id=tenant.id, member_id=member.id if member else None,
                               staff_id=staff.id if staff else None)


def test_a_friend_request_carrying_a_link_code_is_accepted_welcomed_and_linked(app: Any, factory: Any) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant, nickname="小美")
    code = code_for(tenant, member)

    async def scenario(puppet: MemoryPuppet, _: WechatyTransport) -> None:
        fr = puppet.friend_request("wxid_mei", "小美", hello=f"你好，绑定 {code}")
        await puppet.settle()
        assert puppet.accepted == [fr]

    puppet = run(app, tenant, scenario)
    assert puppet.texts_to("wxid_mei") == [
        f"你好小美，我是{tenant.name}的小助手，很高兴认识你！发送「帮助」看看我能做什么。",
        "绑定成功！已关联会员账号「小美」。发送「帮助」查看可用功能。"]
    db.session.rollback()  # the bot wrote from its own thread: read after its commit
    contact = get_contact(tenant_id=tenant.id, transport="wechaty", contact_id="wxid_mei")
    assert contact is not None and contact.member_id == member.id


def test_a_linked_member_gets_their_invite_code_and_a_poster_whose_qr_binds_fans(
        app: Any, factory: Any) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant, nickname="小美")
    link(tenant, transport="wechaty", contact_id="wxid_mei", member=member, now=NOW)

    async def scenario(puppet: MemoryPuppet, _: WechatyTransport) -> None:
        puppet.add_contact("wxid_mei", "小美")
        puppet.receive_text("wxid_mei", "邀请码")
        await puppet.settle()
        puppet.receive_text("wxid_mei", "海报")

    puppet = run(app, tenant, scenario)
    assert puppet.texts_to("wxid_mei") == [
        f"您的邀请码：{member.invite_code}\n好友在小程序「我的 - 填写邀请码」输入即可成为您的团队成员。",
        "这是您的专属邀请海报，好友扫码即可绑定到您的团队。"]
    [png] = puppet.images_to("wxid_mei")
    [scene] = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    assert scene == f"i={member.invite_code}"
    fan = factory.member(tenant)
    with unit_of_work():
        result = bind_by_scene(tenant_id=tenant.id, member_id=fan.id, scene=scene, source="share", now=NOW)
    assert (result.status, result.parent_id) == ("bound", member.id)


def test_today_shows_the_real_team_and_commission_figures_so_far(app: Any, factory: Any) -> None:
    tenant = factory.tenant()
    me = factory.member(tenant, nickname="小美", now=NOW - timedelta(days=3))
    child = factory.member(tenant, parent=me, now=NOW - timedelta(days=2))  # before today: not new
    factory.member(tenant, parent=me, now=NOW - timedelta(hours=1))
    factory.member(tenant, parent=child, now=NOW - timedelta(hours=2))
    freeze_reward(tenant, me, 1234, key="f1", now=NOW - timedelta(hours=1))
    freeze_reward(tenant, me, 5000, key="f0", now=NOW - timedelta(days=9))
    settle_reward(tenant, me, 5000, key="s0", now=NOW - timedelta(minutes=5))
    link(tenant, transport="wechaty", contact_id="wxid_mei", member=me, now=NOW)

    async def scenario(puppet: MemoryPuppet, _: WechatyTransport) -> None:
        puppet.add_contact("wxid_mei", "小美")
        puppet.receive_text("wxid_mei", "今日")

    puppet = run(app, tenant, scenario)
    assert puppet.texts_to("wxid_mei") == ["\n".join([
        f"【{tenant.name}】今日团队与佣金（截至目前）",
        "新增团队成员：2 人（一级 1 / 二级 1 / 三级 0）",
        "团队订单：0 单，金额 ¥0.00",
        "新增佣金（冻结中）：¥12.34",
        "结算到账：¥50.00",
        "可提现余额：¥50.00"])]


def test_a_stranger_is_asked_to_link_first_and_chit_chat_gets_no_reply(app: Any, factory: Any) -> None:
    tenant = factory.tenant()

    async def scenario(puppet: MemoryPuppet, _: WechatyTransport) -> None:
        puppet.add_contact("wxid_x", "路人")
        puppet.receive_text("wxid_x", "在吗，今天天气不错")
        await puppet.settle()
        puppet.receive_text("wxid_x", "邀请码")
        await puppet.settle()
        puppet.receive_text("wxid_x", "绑定 000000")

    puppet = run(app, tenant, scenario)
    assert puppet.texts_to("wxid_x") == [
        "请先绑定账号：在小程序「我的」页面获取绑定码，发送「绑定 绑定码」",
        "绑定码无效或已过期，请在小程序中重新获取"]


def test_room_joiners_are_welcomed_by_name_with_a_mention(app: Any, factory: Any) -> None:
    tenant = factory.tenant()

    async def scenario(puppet: MemoryPuppet, _: WechatyTransport) -> None:
        puppet.add_contact("wxid_a", "阿花")
        puppet.add_contact("wxid_b", "阿草")
        puppet.add_contact("wxid_owner", "群主")
        puppet.add_room("room1", "好物分享群", [BOT, "wxid_owner"])
        puppet.room_join("room1", ["wxid_a", "wxid_b"], "wxid_owner")

    puppet = run(app, tenant, scenario)
    [sent] = [s for s in puppet.sent if s.conversation_id == "room1"]
    assert sent.mention_ids == ["wxid_a", "wxid_b"]
    assert sent.text is not None and sent.text.endswith(
        "欢迎 阿花、阿草 加入「好物分享群」！发送「帮助」了解如何获取邀请码和专属海报。")


def test_in_a_room_the_bot_answers_only_when_mentioned(app: Any, factory: Any) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant, nickname="小美")
    link(tenant, transport="wechaty", contact_id="wxid_mei", member=member, now=NOW)

    async def scenario(puppet: MemoryPuppet, _: WechatyTransport) -> None:
        puppet.add_contact("wxid_mei", "小美")
        puppet.add_room("room1", "群", [BOT, "wxid_mei"])
        puppet.receive_text("wxid_mei", "邀请码", room_id="room1")
        await puppet.settle()
        puppet.receive_text("wxid_mei", "@小助手\u2005邀请码", room_id="room1", mention_ids=[BOT])

    puppet = run(app, tenant, scenario)
    [sent] = [s for s in puppet.sent if s.conversation_id == "room1"]
    assert sent.mention_ids == ["wxid_mei"]
    assert f"您的邀请码：{member.invite_code}" in (sent.text or "")


def test_a_personal_wechat_notification_goes_out_through_the_bot_once(app: Any, factory: Any) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant, nickname="小美")
    link(tenant, transport="wechaty", contact_id="wxid_mei", member=member, now=NOW)
    with unit_of_work():
        service.enqueue_withdrawal_alert(tenant_id=tenant.id, member_id=member.id, withdrawal_id=3,
                                         amount_fen=2000, status="rejected", reason="信息不全", now=NOW)
    from backend.notifications.dispatch import deliver_due

    assert deliver_due(now=NOW).to_bot == 1  # the scheduler routes it to the bot process
    sent_counts = []

    async def scenario(puppet: MemoryPuppet, transport: WechatyTransport) -> None:
        puppet.add_contact("wxid_mei", "小美")
        sent_counts.append(await transport.deliver_once(NOW))
        sent_counts.append(await transport.deliver_once(NOW + timedelta(minutes=1)))

    puppet = run(app, tenant, scenario)
    assert sent_counts == [1, 0]
    assert puppet.texts_to("wxid_mei") == [
        f"【{tenant.name}】提现结果：¥20.00 未通过审核，原因：信息不全，金额已退回余额。"]


def test_a_failed_bot_send_is_retried_later_not_lost(app: Any, factory: Any) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant)
    link(tenant, transport="wechaty", contact_id="wxid_mei", member=member, now=NOW)
    with unit_of_work():
        service.enqueue_settlement_alert(tenant_id=tenant.id, member_id=member.id, amount_fen=100, count=1,
                                         settlement_key="k", now=NOW)
    from backend.notifications.dispatch import deliver_due

    deliver_due(now=NOW)
    counts = []

    async def scenario(puppet: MemoryPuppet, transport: WechatyTransport) -> None:
        puppet.add_contact("wxid_mei", "小美")
        puppet.fail_sends_to.add("wxid_mei")
        counts.append(await transport.deliver_once(NOW))
        puppet.fail_sends_to.clear()
        counts.append(await transport.deliver_once(NOW + timedelta(seconds=10)))  # backoff not over
        counts.append(await transport.deliver_once(NOW + timedelta(minutes=2)))

    puppet = run(app, tenant, scenario)
    assert counts == [0, 0, 1]
    assert len(puppet.texts_to("wxid_mei")) == 1


@pytest.mark.parametrize("text", ["退订", "订阅"])
def test_members_opt_out_and_back_in_from_chat(app: Any, factory: Any, text: str) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant)
    link(tenant, transport="wechaty", contact_id="wxid_mei", member=member, now=NOW)

    async def scenario(puppet: MemoryPuppet, _: WechatyTransport) -> None:
        puppet.add_contact("wxid_mei", "小美")
        puppet.receive_text("wxid_mei", text)

    run(app, tenant, scenario)
    db.session.rollback()
    prefs = service.get_preferences(tenant_id=tenant.id, member_id=member.id)
    assert prefs["daily_enabled"] is (text == "订阅")
