"""The WeCom transport: staff write to the tenant's app through the sandbox's encrypted
callback; the bot answers with app messages; contact events go to SCRM."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from backend.db import unit_of_work
from backend.extensions import db
from backend.notifications.contacts import get_contact, issue_link_code
from backend.wechat.demo import demo_credentials
from backend.wechat.sandbox import flask_client_sender
from bot.__main__ import BotConfig
from bot.wecom_transport import create_wecom_app
from tests.notifications_factories import link, wecom_texts

NOW = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)


def say(app: Any, sandbox: Any, tenant: Any, user: str, text: str) -> int:
    creds = demo_credentials(tenant.slug, pay_notify_url="http://x").wecom
    sandbox.register_wecom(creds)
    wire = sandbox.build_wecom_callback(creds.corp_id, {
        "ToUserName": creds.corp_id, "FromUserName": user, "CreateTime": 1700000000, "MsgType": "text",
        "Content": text, "MsgId": "1", "AgentID": creds.agent_id}, url=f"/wecom/{tenant.slug}")
    res = flask_client_sender(create_wecom_app(app).test_client())(wire)
    assert res.body == "success"
    return res.status_code


def test_a_staff_member_links_their_wecom_user_and_looks_up_a_customer(app: Any, factory: Any,
                                                                     sandbox: Any) -> None:
    from tests.scrm_factories import add_customer

    tenant = factory.tenant()
    staff = factory.staff(tenant, "sales")
    customer = add_customer(tenant, staff, name="王女士", phone="13800138000", now=NOW)
    from backend.scrm.service import add_remark

    with unit_of_work():
        add_remark(tenant_id=tenant.id, staff_id=staff.id, customer_id=customer.id, content="想要礼盒装", now=NOW)
        code = issue_link_code(tenant_id=tenant.id, staff_id=staff.id)
    assert say(app, sandbox, tenant, "zhangsan", f"绑定 {code}") == 200
    assert say(app, sandbox, tenant, "zhangsan", "客户 王女士") == 200
    texts = wecom_texts(sandbox, tenant, "zhangsan")
    assert texts[0] == "绑定成功！已关联员工账号「sales」。发送「帮助」查看可用功能。"
    assert texts[1].splitlines()[0] == "客户：王女士（13800138000）"
    assert texts[1].splitlines()[-1].endswith("想要礼盒装")
    db.session.rollback()
    contact = get_contact(tenant_id=tenant.id, transport="wecom", contact_id="zhangsan")
    assert contact is not None and contact.staff_id == staff.id


def test_a_member_asks_for_a_poster_in_wecom_and_gets_the_image_whose_qr_binds_fans(
        app: Any, factory: Any, sandbox: Any) -> None:
    import io

    import zxingcpp
    from PIL import Image

    tenant = factory.tenant()
    member = factory.member(tenant)
    link(tenant, transport="wecom", contact_id="lisi", member=member, now=NOW)
    say(app, sandbox, tenant, "lisi", "海报")
    corp_id = demo_credentials(tenant.slug, pay_notify_url="http://x").wecom.corp_id
    [image] = [m for m in sandbox.wecom_messages
               if m["corp_id"] == corp_id and m["touser"] == ["lisi"] and m["msgtype"] == "image"]
    png = sandbox.wecom_media[image["body"]["media_id"]]
    [scene] = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    assert scene == f"i={member.invite_code}"
    assert wecom_texts(sandbox, tenant, "lisi") == ["这是您的专属邀请海报，好友扫码即可绑定到您的团队。"]


def test_only_staff_may_look_up_customers(app: Any, factory: Any, sandbox: Any) -> None:
    tenant = factory.tenant()
    member = factory.member(tenant)
    link(tenant, transport="wecom", contact_id="lisi", member=member, now=NOW)
    say(app, sandbox, tenant, "lisi", "客户 王女士")
    assert wecom_texts(sandbox, tenant, "lisi") == ["该功能仅限员工使用"]


def test_a_forged_callback_is_refused(app: Any, factory: Any) -> None:
    tenant = factory.tenant()
    res = create_wecom_app(app).test_client().post(f"/wecom/{tenant.slug}?msg_signature=x&timestamp=1&nonce=2",
                                                   data=b"<xml><Encrypt>abc</Encrypt></xml>")
    assert res.status_code == 403


def test_the_bot_reads_its_configuration_from_the_environment() -> None:
    config = BotConfig.from_env({"BOT_TENANT": "demo", "BOT_TRANSPORTS": "wecom", "BOT_WECOM_PORT": "6000",
                                 "BOT_OWNER_STAFF_ID": "7"})
    assert (config.tenant_slug, config.transports, config.wecom_port, config.owner_staff_id,
            config.memory_puppet) == ("demo", ("wecom",), 6000, 7, True)
    with pytest.raises(SystemExit):
        BotConfig.from_env({"BOT_TENANT": "demo", "BOT_TRANSPORTS": "telegram"})
