"""WeCom through wechatpy.enterprise against the sandbox, and its encrypted callback."""

from __future__ import annotations

import pytest

from backend.wechat.credentials import TenantWeChatCredentials
from backend.wechat.errors import WeChatRateLimited, WeChatUpstreamError
from backend.wechat.gateway import WeChatGateway, robot_image, robot_markdown, robot_text
from backend.wechat.sandbox import SandboxServer, qr_png
from tests.wechat.conftest import Receiver


def test_a_customer_added_through_a_staff_contact_way_carries_its_state(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials,
        receiver: Receiver) -> None:
    wc = gw.wecom(creds.wecom)  # type: ignore[arg-type]
    way = wc.add_contact_way(user_id="zhangsan", state="staff_12", remark="张三的名片")
    assert way.config_id and way.qr_code.endswith(f"{way.config_id}.png")

    ext_id, push = sbx.wecom_add_customer(way.config_id, "cust1", name="王女士")
    assert push is not None and push.result.status_code == 200
    [event] = receiver.wecom
    assert (event.event, event.change_type, event.user_id, event.external_userid, event.state) == \
        ("change_external_contact", "add_external_contact", "zhangsan", ext_id, "staff_12")
    assert event.welcome_code

    contact = wc.get_external_contact(ext_id)
    assert (contact.name, contact.external_userid) == ("王女士", ext_id)
    assert [(f.user_id, f.state) for f in contact.follow_users] == [("zhangsan", "staff_12")]
    member = gw.mini_program(creds.mini_program).code_to_session("cust1")  # type: ignore[arg-type]
    assert contact.unionid == member.unionid


def test_tags_are_created_then_marked_on_the_customer(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    wc = gw.wecom(creds.wecom)  # type: ignore[arg-type]
    way = wc.add_contact_way(user_id="lisi", state="staff_3")
    ext_id, _ = sbx.wecom_add_customer(way.config_id, "cust2")
    tags = wc.add_corp_tags(group_name="客户来源", names=["海报", "直播间"])
    wc.mark_tag(user_id="lisi", external_userid=ext_id, add_tag_ids=[tags["海报"], tags["直播间"]])
    wc.mark_tag(user_id="lisi", external_userid=ext_id, remove_tag_ids=[tags["直播间"]])
    [follow] = wc.get_external_contact(ext_id).follow_users
    assert follow.tag_ids == (tags["海报"],)
    assert [m["add_tag"] for m in sbx.tag_marks] == [[tags["海报"], tags["直播间"]], []]
    with pytest.raises(WeChatUpstreamError) as err:
        wc.mark_tag(user_id="lisi", external_userid=ext_id, add_tag_ids=["et-unknown"])
    assert err.value.wechat_code == 40068


def test_an_app_message_is_recorded_for_the_staff_members(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    wc = gw.wecom(creds.wecom)  # type: ignore[arg-type]
    msgid = wc.send_app_text(user_ids=["zhangsan", "lisi"], content="今日新增客户 5 人")
    [msg] = sbx.wecom_messages
    assert msg["touser"] == ["zhangsan", "lisi"] and msg["msgid"] == msgid
    assert (msg["msgtype"], msg["body"]) == ("text", {"content": "今日新增客户 5 人"})
    assert msg["agentid"] == creds.wecom.agent_id  # type: ignore[union-attr]


def test_group_robot_messages_are_recorded_and_limited_to_twenty_a_minute(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    key = creds.wecom.robot_webhook_key  # type: ignore[union-attr]
    poster = qr_png("poster")
    gw.post_group_robot(key, robot_text("早安", mentioned_list=["@all"]))
    gw.post_group_robot(key, robot_markdown("**业绩** 12 单"))
    gw.wecom(creds.wecom).send_robot(robot_image(poster))  # type: ignore[arg-type]
    assert [m["msgtype"] for m in sbx.robot_messages] == ["text", "markdown", "image"]
    assert sbx.robot_messages[0]["body"]["mentioned_list"] == ["@all"]
    for i in range(17):
        gw.post_group_robot(key, robot_text(f"第{i}条"))
    with pytest.raises(WeChatRateLimited) as err:
        gw.post_group_robot(key, robot_text("第21条"))
    assert err.value.http_status == 429 and len(sbx.robot_messages) == 20


def test_a_new_customer_can_be_welcomed_once_with_the_callbacks_code(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials,
        receiver: Receiver) -> None:
    wc = gw.wecom(creds.wecom)  # type: ignore[arg-type]
    way = wc.add_contact_way(user_id="wangwu", state="staff_5")
    ext_id, _ = sbx.wecom_add_customer(way.config_id, "cust3")
    code = receiver.wecom[0].welcome_code
    wc.send_welcome_message(welcome_code=code, text="您好，我是您的专属顾问王五")
    assert [(m["external_userid"], m["userid"], m["text"]) for m in sbx.welcome_messages] == [
        (ext_id, "wangwu", "您好，我是您的专属顾问王五")]
    with pytest.raises(WeChatUpstreamError) as err:
        wc.send_welcome_message(welcome_code=code, text="again")
    assert err.value.wechat_code == 41051
