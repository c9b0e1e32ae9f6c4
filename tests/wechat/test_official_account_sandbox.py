"""Official account: parametric QR codes through wechatpy, and the sandbox's signed
event pushes (plain and safe mode) to a receiver using parse_oa_push/render_oa_reply."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
import requests
import zxingcpp
from PIL import Image

from backend.wechat.credentials import TenantWeChatCredentials
from backend.wechat.gateway import WeChatGateway
from backend.wechat.sandbox import SandboxServer, flask_client_sender
from tests.wechat.conftest import Receiver


@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_scanning_a_promoter_qr_pushes_a_signed_subscribe_then_scan_event(
        mode: str, sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials,
        receiver: Receiver) -> None:
    oa = gw.official_account(creds.official_account)  # type: ignore[arg-type]
    qr = oa.create_qrcode_with_scene("p_42")
    assert qr.ticket and qr.url.startswith("http://weixin.qq.com/q/") and qr.expire_seconds

    first = sbx.scan_oa_qrcode(qr.ticket, "fan1", mode=mode)
    assert first.result.status_code == 200
    assert first.request.query.get("encrypt_type") == ("aes" if mode == "aes" else None)
    assert first.reply_text == "欢迎，推荐人 p_42"
    again = sbx.scan_oa_qrcode(qr.ticket, "fan1", mode=mode)
    assert again.reply_text == "欢迎，推荐人 p_42"

    sub, scan = receiver.oa
    assert (sub.kind, sub.scene, sub.ticket, sub.encrypted) == ("subscribe", "p_42", qr.ticket,
                                                               mode == "aes")
    assert (scan.kind, scan.scene) == ("scan", "p_42")
    assert sub.openid == scan.openid == sbx.openid_for(creds.official_account.appid, "fan1")  # type: ignore[union-attr]
    assert sub.account == creds.official_account.original_id  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_a_text_message_gets_the_reply_back_through_the_same_mode(
        mode: str, sbx: SandboxServer, creds: TenantWeChatCredentials, receiver: Receiver) -> None:
    appid = creds.official_account.appid  # type: ignore[union-attr]
    res = sbx.oa_text(appid, "fan2", "邀请码", mode=mode)
    assert res.reply_text == "收到：邀请码"
    assert res.reply is not None and res.reply["ToUserName"] == sbx.openid_for(appid, "fan2")
    if mode == "aes":
        assert "<Encrypt>" in res.result.body  # the reply itself was encrypted
    [push] = receiver.oa
    assert (push.kind, push.content, push.msg_id is not None) == ("text", "邀请码", True)


def test_a_follow_without_scene_and_an_unsubscribe_are_parsed(
        sbx: SandboxServer, creds: TenantWeChatCredentials, receiver: Receiver) -> None:
    appid = creds.official_account.appid  # type: ignore[union-attr]
    assert sbx.oa_event(appid, "fan3", "subscribe").reply is None  # "success"
    sbx.oa_event(appid, "fan3", "unsubscribe")
    sbx.oa_event(appid, "fan3", "CLICK", event_key="MENU_1")
    assert [(p.kind, p.scene, p.event) for p in receiver.oa] == [
        ("subscribe", None, "subscribe"), ("unsubscribe", None, "unsubscribe"),
        ("event", None, "click")]


def test_the_url_check_echoes_echostr(sbx: SandboxServer, creds: TenantWeChatCredentials) -> None:
    assert sbx.verify_oa_endpoint(creds.official_account.appid)  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_a_push_signed_with_the_wrong_token_gets_403_and_is_not_processed(
        mode: str, sbx: SandboxServer, creds: TenantWeChatCredentials, receiver: Receiver) -> None:
    oa = creds.official_account
    assert oa is not None
    sbx.register_official_account(replace(oa, token="not-the-token"), push_url=f"{receiver.url}/oa")
    res = sbx.oa_text(oa.appid, "fan4", "hi", mode=mode)
    assert res.result.status_code == 403
    assert receiver.rejected == [(403, "bad_signature")] and receiver.oa == []


def test_a_push_with_a_garbage_body_gets_400(sbx: SandboxServer, creds: TenantWeChatCredentials,
                                             receiver: Receiver) -> None:
    w = sbx.build_oa_push(creds.official_account.appid, {"a": "b"}, mode="plain")  # type: ignore[union-attr]
    res = requests.post(w.url, data=b"<xml><nonsense/>", headers=dict(w.headers), timeout=5)
    assert res.status_code == 400 and res.json()["code"] == "bad_push"


def test_the_follower_unionid_matches_the_same_person_in_the_mini_program(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    oa = gw.official_account(creds.official_account)  # type: ignore[arg-type]
    qr = oa.create_qrcode_with_scene("p_7", expire_seconds=None)
    assert qr.expire_seconds is None  # permanent code
    sbx.scan_oa_qrcode("p_7", "fan5")
    openid = sbx.openid_for(creds.official_account.appid, "fan5")  # type: ignore[union-attr]
    user = oa.get_user_info(openid)
    member = gw.mini_program(creds.mini_program).code_to_session("fan5")  # type: ignore[arg-type]
    assert user.subscribed and user.qr_scene_str == "p_7"
    assert user.unionid == member.unionid and user.openid != member.openid


def test_the_qr_image_url_serves_a_qr_of_the_ticket_url(
        gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    qr = gw.official_account(creds.official_account).create_qrcode_with_scene("p_9")  # type: ignore[arg-type]
    png = requests.get(qr.image_url, timeout=5).content
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))] == [qr.url]


def test_pushes_can_go_into_a_flask_test_client_instead_of_http(
        sbx: SandboxServer, creds: TenantWeChatCredentials, receiver: Receiver) -> None:
    from tests.wechat.conftest import _receiver_app

    client = _receiver_app(receiver).test_client()
    res = sbx.oa_text(creds.official_account.appid, "fan6", "你好", url="/oa",  # type: ignore[union-attr]
                      send=flask_client_sender(client), mode="aes")
    assert res.result.status_code == 200 and res.reply_text == "收到：你好"


def test_a_tenant_registered_over_http_gets_its_secret_checked(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    from backend.wechat.credentials import MiniProgramCredentials
    from backend.wechat.errors import WeChatUpstreamError

    other = TenantWeChatCredentials(mini_program=MiniProgramCredentials(
        appid="wx00000000000000bb", secret="right-secret"))
    gw.register_with_sandbox(other, oa_push_url=None)
    assert sbx.apps["wx00000000000000bb"].secret == "right-secret"
    with pytest.raises(WeChatUpstreamError):
        gw.mini_program(MiniProgramCredentials(appid="wx00000000000000bb",
                                               secret="wrong-secret")).code_to_session("u1")
