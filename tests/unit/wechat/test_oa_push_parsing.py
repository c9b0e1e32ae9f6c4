"""parse_oa_push / render_oa_reply / verify_oa_url on pushes built by the sandbox."""

from __future__ import annotations

from dataclasses import replace

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from backend.wechat.credentials import OfficialAccountCredentials
from backend.wechat.demo import demo_credentials
from backend.wechat.errors import PushBadSignature, PushMalformed
from backend.wechat.official_account import parse_oa_push, render_oa_reply, verify_oa_url
from backend.wechat.sandbox import Sandbox, WireRequest


@pytest.fixture(scope="module")
def safe_oa() -> OfficialAccountCredentials:
    creds = demo_credentials("wechat-tests", pay_notify_url="https://example.test/n").official_account
    assert creds is not None and creds.encoding_aes_key and creds.message_mode == "safe"
    return creds


@pytest.fixture(scope="module")
def oa(safe_oa: OfficialAccountCredentials) -> OfficialAccountCredentials:
    """The account in compatible mode (兼容模式): plaintext and encrypted pushes both parse."""
    return replace(safe_oa, message_mode="compatible")


@pytest.fixture()
def sb(oa: OfficialAccountCredentials) -> Sandbox:
    s = Sandbox()
    s.register_official_account(oa, push_url="https://product.test/oa/unit")
    return s


def _subscribe(sb: Sandbox, oa: OfficialAccountCredentials, mode: str) -> WireRequest:
    return sb.build_oa_push(oa.appid, {
        "ToUserName": oa.original_id, "FromUserName": sb.openid_for(oa.appid, "u1"),
        "CreateTime": 1795000000, "MsgType": "event", "Event": "subscribe",
        "EventKey": "qrscene_p_42", "Ticket": "TICKET"}, mode=mode)


@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_a_qr_subscribe_yields_the_scene_without_its_prefix(
        mode: str, sb: Sandbox, oa: OfficialAccountCredentials) -> None:
    w = _subscribe(sb, oa, mode)
    push = parse_oa_push(oa, query=w.query, body=w.body)
    assert (push.kind, push.event, push.scene, push.ticket, push.create_time) == \
        ("subscribe", "subscribe", "p_42", "TICKET", 1795000000)
    assert push.encrypted is (mode == "aes")
    if mode == "aes":
        assert b"p_42" not in w.body  # the event is not readable on the wire


def test_an_encrypted_push_gets_an_encrypted_reply_a_plain_one_a_plain_reply(
        sb: Sandbox, oa: OfficialAccountCredentials) -> None:
    plain_w, aes_w = _subscribe(sb, oa, "plain"), _subscribe(sb, oa, "aes")
    plain = render_oa_reply(oa, parse_oa_push(oa, query=plain_w.query, body=plain_w.body), "你好")
    assert xmltodict.parse(plain)["xml"]["Content"] == "你好"
    enc = render_oa_reply(oa, parse_oa_push(oa, query=aes_w.query, body=aes_w.body), "你好",
                          now=1795000001)
    fields = xmltodict.parse(enc)["xml"]
    inner = WeChatCrypto(oa.token, oa.encoding_aes_key, oa.appid).decrypt_message(
        enc, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
    assert xmltodict.parse(inner)["xml"]["Content"] == "你好"
    assert render_oa_reply(oa, parse_oa_push(oa, query=plain_w.query, body=plain_w.body),
                           None) == "success"


@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_a_changed_timestamp_breaks_the_signature(mode: str, sb: Sandbox,
                                                  oa: OfficialAccountCredentials) -> None:
    w = _subscribe(sb, oa, mode)
    query = dict(w.query, timestamp=str(int(w.query["timestamp"]) + 1))
    with pytest.raises(PushBadSignature) as err:
        parse_oa_push(oa, query=query, body=w.body)
    assert (err.value.code, err.value.http_status) == ("bad_signature", 403)


def test_an_encrypted_body_swapped_under_a_valid_plain_signature_is_refused(
        sb: Sandbox, oa: OfficialAccountCredentials) -> None:
    a, b = _subscribe(sb, oa, "aes"), _subscribe(sb, oa, "aes")
    with pytest.raises(PushBadSignature):
        parse_oa_push(oa, query=a.query, body=b.body)  # msg_signature covers the ciphertext


def test_safe_mode_push_to_an_account_without_aes_key_is_refused(
        sb: Sandbox, oa: OfficialAccountCredentials) -> None:
    w = _subscribe(sb, oa, "aes")
    with pytest.raises(PushBadSignature):
        parse_oa_push(replace(oa, encoding_aes_key=""), query=w.query, body=w.body)


def test_a_body_that_is_not_wechat_xml_is_malformed(sb: Sandbox,
                                                    oa: OfficialAccountCredentials) -> None:
    w = _subscribe(sb, oa, "plain")
    for body in (b"not xml", b"<xml><MsgType>text</MsgType></xml>", b""):
        with pytest.raises(PushMalformed):
            parse_oa_push(oa, query=w.query, body=body)


def test_the_url_check_returns_echostr_only_with_a_valid_signature(
        sb: Sandbox, oa: OfficialAccountCredentials) -> None:
    w = _subscribe(sb, oa, "plain")
    q = {k: w.query[k] for k in ("signature", "timestamp", "nonce")}
    assert verify_oa_url(oa, dict(q, echostr="12345")) == "12345"
    with pytest.raises(PushBadSignature):
        verify_oa_url(oa, dict(q, nonce="0", echostr="12345"))


def test_a_plaintext_push_to_an_account_in_safe_mode_is_refused(
        sb: Sandbox, safe_oa: OfficialAccountCredentials) -> None:
    w = _subscribe(sb, safe_oa, "plain")  # correctly signed, but the signature covers no body
    with pytest.raises(PushBadSignature) as err:
        parse_oa_push(safe_oa, query=w.query, body=w.body)
    assert (err.value.code, err.value.http_status) == ("push_plaintext_refused", 403)
    aes = _subscribe(sb, safe_oa, "aes")
    assert parse_oa_push(safe_oa, query=aes.query, body=aes.body).scene == "p_42"


def test_a_plaintext_push_to_an_account_without_aes_key_is_accepted(
        sb: Sandbox, safe_oa: OfficialAccountCredentials) -> None:
    plain_oa = replace(safe_oa, encoding_aes_key="")
    w = _subscribe(sb, safe_oa, "plain")
    assert parse_oa_push(plain_oa, query=w.query, body=w.body).scene == "p_42"
