"""WeCom: a staff member's contact way carries a state; the sandbox's customer-added
callback (encrypted, signed) comes back through /wecom/<slug> and assigns the customer."""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import xmltodict
from sqlalchemy import select
from wechatpy.crypto import PrpCrypto
from wechatpy.utils import WeChatSigner

from backend.db import unit_of_work, utcnow
from backend.extensions import db
from backend.members.service import upsert_member
from backend.scrm import service as scrm
from backend.scrm import tags as tagging
from backend.scrm.models import Customer
from backend.wechat.sandbox import flask_client_sender, sandbox_unionid
from backend.wechat.service import credentials
from tests.scrm_factories import events, fresh, rule, tag_group, tag_names


def wecom_tenant(factory: Any, sandbox: Any) -> Any:
    slug = f"wc{uuid.uuid4().hex[:10]}"
    tenant = factory.tenant(slug)
    sandbox.register_tenant(credentials(tenant_id=tenant.id), wecom_callback_url=f"/wecom/{slug}")
    return tenant


def wecom_staff(factory: Any, tenant: Any, user_id: str, channel: str = "展会",
                welcome: str = "") -> tuple[Any, Any]:
    staff = factory.staff(tenant, "sales")
    with unit_of_work():
        scrm.set_staff_wecom_user(tenant_id=tenant.id, staff_id=staff.id, wecom_user_id=user_id,
                                  actor="test")
        code = scrm.create_staff_code(tenant_id=tenant.id, staff_id=staff.id, kind="wecom",
                                      channel=channel, welcome_text=welcome, actor="test")
    return staff, code


def test_a_contact_way_is_created_with_a_state_naming_the_code(factory: Any, sandbox: Any) -> None:
    tenant = wecom_tenant(factory, sandbox)
    staff, code = wecom_staff(factory, tenant, "lisi")
    assert code.state == f"sc{code.id}" and code.config_id and code.qr_url.endswith(".png")
    way = sandbox.contact_ways[code.config_id]
    assert (way["state"], way["user"]) == (code.state, ["lisi"])
    assert [c.id for c in scrm.staff_codes(tenant_id=tenant.id, staff_id=staff.id)] == [code.id]


def test_a_customer_added_through_the_contact_way_is_assigned_tagged_and_welcomed(
        factory: Any, sandbox: Any, client: Any) -> None:
    tenant = wecom_tenant(factory, sandbox)
    expo = tag_group(tenant, "来源", ["展会客户"])["展会客户"]
    rule(tenant, expo, "channel", {"channels": ["展会"]})
    staff, code = wecom_staff(factory, tenant, "wangwu", welcome="您好，我是小王，有事随时找我")
    send = flask_client_sender(client)

    external_userid, push = sandbox.wecom_add_customer(code.config_id, "u-alice", name="爱丽丝",
                                                       send=send)
    assert (push.result.status_code, push.result.body) == (200, "success")
    customer = db.session.scalar(select(Customer).where(Customer.external_userid == external_userid))
    assert (customer.name, customer.source, customer.channel, customer.owner_staff_id,
            customer.unionid) == ("爱丽丝", "wecom", "展会", staff.id, sandbox_unionid("u-alice"))
    assert tag_names(tenant, customer.id) == ["展会客户"]
    assert [(m["external_userid"], m["text"]) for m in sandbox.welcome_messages
            if m["external_userid"] == external_userid] == [
        (external_userid, "您好，我是小王，有事随时找我")]
    # the channel tag is mirrored onto the WeCom contact
    tag = tagging.get_tag(tenant_id=tenant.id, tag_id=expo)
    assert [m["add_tag"] for m in sandbox.tag_marks if m["external_userid"] == external_userid] == [
        [tag.wecom_tag_id]]

    # The same signed request again is a replay: refused (backend/wechat/push_guard.py)
    assert send(push.request).status_code == 403
    # WeCom sends the same event again, freshly signed: accepted, nothing changes
    corp_id = credentials(tenant_id=tenant.id).wecom.corp_id
    fields = dict(xmltodict.parse(PrpCrypto(base64.b64decode(
        sandbox.corps[corp_id].encoding_aes_key + "=")).decrypt(
        xmltodict.parse(push.request.body)["xml"]["Encrypt"], corp_id))["xml"])
    again = send(sandbox.build_wecom_callback(corp_id, fields, url=f"/wecom/{tenant.slug}"))
    assert again.status_code == 200
    assert db.session.scalar(select(Customer.id).where(
        Customer.external_userid == external_userid)) == customer.id
    assert [e.kind for e in events(customer.id)] == ["added", "tag_add"]


def test_a_wecom_contact_who_is_already_a_member_is_one_customer(
        factory: Any, sandbox: Any, client: Any) -> None:
    tenant = wecom_tenant(factory, sandbox)
    with unit_of_work():
        member = upsert_member(tenant_id=tenant.id, openid="op-bob", unionid=sandbox_unionid("u-bob"),
                               nickname="小波", now=utcnow())
    staff, code = wecom_staff(factory, tenant, "zhaoliu")
    external_userid, _ = sandbox.wecom_add_customer(code.config_id, "u-bob",
                                                    send=flask_client_sender(client))
    [customer] = db.session.scalars(select(Customer).where(Customer.tenant_id == tenant.id))
    assert (customer.member_id, customer.external_userid, customer.owner_staff_id) == (
        member.id, external_userid, staff.id)
    found = scrm.find_customer_by_contact(tenant_id=tenant.id, member_id=member.id)
    assert found is not None and found.id == customer.id


def test_a_customer_deleting_the_staff_member_lands_on_the_timeline(
        factory: Any, sandbox: Any, client: Any) -> None:
    tenant = wecom_tenant(factory, sandbox)
    staff, code = wecom_staff(factory, tenant, "sunqi")
    send = flask_client_sender(client)
    external_userid, _ = sandbox.wecom_add_customer(code.config_id, "u-carol", send=send)
    corp_id = credentials(tenant_id=tenant.id).wecom.corp_id
    request = sandbox.build_wecom_callback(corp_id, {
        "ToUserName": corp_id, "FromUserName": "sys", "CreateTime": 1700000000, "MsgType": "event",
        "Event": "change_external_contact", "ChangeType": "del_follow_user", "UserID": "sunqi",
        "ExternalUserID": external_userid})
    assert send(request).status_code == 200
    customer = scrm.find_customer_by_contact(tenant_id=tenant.id, external_userid=external_userid)
    assert [(e.kind, e.staff_id) for e in events(customer.id, "lost")] == [("lost", staff.id)]
    assert fresh(Customer, customer.id).owner_staff_id == staff.id  # history is the owner's call


def test_forged_callbacks_are_refused_and_change_nothing(factory: Any, sandbox: Any, client: Any) -> None:
    tenant = wecom_tenant(factory, sandbox)
    resp = client.post(f"/wecom/{tenant.slug}?msg_signature=abc&timestamp=1&nonce=2",
                       data=b"<xml><Encrypt><![CDATA[Zm9v]]></Encrypt></xml>")
    assert (resp.status_code, resp.json["code"]) == (403, "bad_signature")
    resp = client.post("/wecom/no-such-brand?msg_signature=abc&timestamp=1&nonce=2", data=b"x")
    assert resp.status_code == 404
    assert db.session.scalar(select(Customer.id).where(Customer.tenant_id == tenant.id)) is None


def test_the_callback_url_check_echoes_the_decrypted_echostr(factory: Any, sandbox: Any,
                                                             client: Any) -> None:
    tenant = wecom_tenant(factory, sandbox)
    creds = credentials(tenant_id=tenant.id).wecom
    echostr = "echo-" + secrets.token_hex(6)
    encrypted = PrpCrypto(base64.b64decode(creds.encoding_aes_key + "=")).encrypt(
        echostr, creds.corp_id).decode()
    signer = WeChatSigner()
    now = str(int(time.time()))  # WeCom signs its current time; an old one is refused
    signer.add_data(creds.token, now, "42", encrypted)
    query = urlencode({"msg_signature": signer.signature, "timestamp": now, "nonce": "42",
                       "echostr": encrypted})
    resp = client.get(f"/wecom/{tenant.slug}?{query}")
    assert (resp.status_code, resp.get_data(as_text=True)) == (200, echostr)
    bad = client.get(f"/wecom/{tenant.slug}?msg_signature=0&timestamp=1&nonce=2&echostr={encrypted}")
    assert bad.status_code == 403
