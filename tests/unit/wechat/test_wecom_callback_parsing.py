"""verify_wecom_url / parse_wecom_callback on callbacks built by the sandbox (no HTTP)."""

from __future__ import annotations

import pytest
import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto

from backend.wechat.credentials import WeComCredentials
from backend.wechat.demo import demo_credentials
from backend.wechat.errors import PushBadSignature
from backend.wechat.sandbox import Sandbox
from backend.wechat.wecom import parse_wecom_callback, verify_wecom_url


@pytest.fixture(scope="module")
def wecom() -> WeComCredentials:
    creds = demo_credentials("wechat-tests", pay_notify_url="https://example.test/n").wecom
    assert creds is not None
    return creds


@pytest.fixture()
def sb(wecom: WeComCredentials) -> Sandbox:
    s = Sandbox()
    s.register_wecom(wecom, callback_url="https://product.test/wecom/unit")
    return s


def test_a_customer_added_callback_yields_staff_customer_and_state(
        sb: Sandbox, wecom: WeComCredentials) -> None:
    w = sb.build_wecom_callback(wecom.corp_id, {
        "ToUserName": wecom.corp_id, "FromUserName": "sys", "CreateTime": 1795000000,
        "MsgType": "event", "Event": "change_external_contact",
        "ChangeType": "add_external_contact", "UserID": "zhangsan", "ExternalUserID": "wmABC",
        "State": "staff_12", "WelcomeCode": "WC"})
    e = parse_wecom_callback(wecom, query=w.query, body=w.body)
    assert (e.event, e.change_type, e.user_id, e.external_userid, e.state, e.welcome_code,
            e.create_time) == ("change_external_contact", "add_external_contact", "zhangsan",
                               "wmABC", "staff_12", "WC", 1795000000)


def test_a_callback_with_a_wrong_signature_is_refused(sb: Sandbox,
                                                      wecom: WeComCredentials) -> None:
    w = sb.build_wecom_callback(wecom.corp_id, {"MsgType": "event", "Event": "x"})
    with pytest.raises(PushBadSignature):
        parse_wecom_callback(wecom, query=dict(w.query, nonce="1"), body=w.body)


def test_the_url_check_returns_the_decrypted_echostr(wecom: WeComCredentials) -> None:
    crypto = WeChatCrypto(wecom.token, wecom.encoding_aes_key, wecom.corp_id)
    xml = crypto.encrypt_message("echo-123", "nonce1", "1795000000")
    fields = xmltodict.parse(xml)["xml"]
    query = {"msg_signature": fields["MsgSignature"], "timestamp": "1795000000",
             "nonce": "nonce1", "echostr": fields["Encrypt"]}
    assert verify_wecom_url(wecom, query) == "echo-123"
    with pytest.raises(PushBadSignature):
        verify_wecom_url(wecom, dict(query, timestamp="1"))
