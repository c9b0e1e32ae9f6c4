"""Mini-program calls through the real wechatpy client against the sandbox."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from backend.wechat.credentials import MiniProgramCredentials, TenantWeChatCredentials
from backend.wechat.errors import (
    InvalidLoginCode,
    InvalidPhoneCode,
    InvalidScene,
    SubscribeRefused,
    WeChatUpstreamError,
)
from backend.wechat.gateway import WeChatGateway
from backend.wechat.sandbox import SandboxServer, sandbox_openid


def _decode(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_code_to_session_gives_the_same_user_the_same_openid_and_unionid(
        gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    mp = gw.mini_program(creds.mini_program)  # type: ignore[arg-type]
    first, again, other = mp.code_to_session("u1"), mp.code_to_session("u1"), mp.code_to_session("u2")
    assert first.openid == again.openid == sandbox_openid(mp.appid, "u1")
    assert len(first.openid) == 28 and first.openid.startswith("o")
    assert first.unionid == again.unionid and first.unionid != other.unionid
    assert other.openid != first.openid
    assert first.session_key


def test_a_code_with_a_suffix_logs_in_the_same_person(gw: WeChatGateway,
                                                      creds: TenantWeChatCredentials) -> None:
    mp = gw.mini_program(creds.mini_program)  # type: ignore[arg-type]
    assert mp.code_to_session("u7:first").openid == mp.code_to_session("u7:second").openid


def test_one_person_has_different_openids_in_two_apps_but_one_unionid(
        gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    other_app = MiniProgramCredentials(appid="wx00000000000000aa", secret="s" * 32)
    a = gw.mini_program(creds.mini_program).code_to_session("u1")  # type: ignore[arg-type]
    b = gw.mini_program(other_app).code_to_session("u1")
    assert a.openid != b.openid
    assert a.unionid == b.unionid


def test_an_invalid_login_code_raises_invalid_login_code(gw: WeChatGateway,
                                                         creds: TenantWeChatCredentials) -> None:
    mp = gw.mini_program(creds.mini_program)  # type: ignore[arg-type]
    with pytest.raises(InvalidLoginCode) as err:
        mp.code_to_session("invalid-code")
    assert err.value.http_status == 400 and err.value.wechat_code == 40029
    with pytest.raises(InvalidLoginCode):
        mp.code_to_session("")


def test_strict_codes_work_once_like_wechat(sbx: SandboxServer, gw: WeChatGateway,
                                            creds: TenantWeChatCredentials) -> None:
    sbx.strict_codes = True
    mp = gw.mini_program(creds.mini_program)  # type: ignore[arg-type]
    mp.code_to_session("u3:once")
    with pytest.raises(InvalidLoginCode) as err:
        mp.code_to_session("u3:once")
    assert err.value.wechat_code == 40163


def test_a_wrong_secret_for_a_registered_app_is_an_upstream_error(
        gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    assert creds.mini_program is not None
    wrong = MiniProgramCredentials(appid=creds.mini_program.appid, secret="0" * 32)
    with pytest.raises(WeChatUpstreamError) as err:
        gw.mini_program(wrong).code_to_session("u1")
    assert err.value.wechat_code == 40125 and err.value.http_status == 502


def test_an_expired_access_token_is_fetched_again_transparently(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    mp = gw.mini_program(creds.mini_program)  # type: ignore[arg-type]
    mp.send_subscribe_message(openid=mp.code_to_session("u1").openid, template_id="T",
                              data={"thing1": "a"})
    sbx.expire_tokens()
    mp.send_subscribe_message(openid=mp.code_to_session("u1").openid, template_id="T",
                              data={"thing1": "b"})
    token_fetches = [p for _, p in sbx.requests_seen if p == "/api/cgi-bin/token"]
    assert len(token_fetches) == 2
    assert [m["data"]["thing1"]["value"] for m in sbx.subscribe_messages] == ["a", "b"]


def test_unlimited_code_is_a_png_whose_qr_decodes_to_the_scene(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    mp = gw.mini_program(creds.mini_program)  # type: ignore[arg-type]
    png = mp.get_unlimited_code(scene="i=K7QX2M&s=p", page="pages/index/index", width=430)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(png)).size == (430, 430)
    assert _decode(png) == ["i=K7QX2M&s=p"]
    assert sbx.wxa_codes[-1]["page"] == "pages/index/index"


def test_unlimited_code_refuses_a_scene_over_32_characters_or_a_page_with_a_slash(
        gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    mp = gw.mini_program(creds.mini_program)  # type: ignore[arg-type]
    with pytest.raises(InvalidScene) as err:
        mp.get_unlimited_code(scene="x" * 33)
    assert err.value.wechat_code == 40169
    with pytest.raises(InvalidScene):
        mp.get_unlimited_code(scene="ok", page="/pages/index/index")


def test_subscribe_message_is_recorded_with_values_wrapped(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    mp = gw.mini_program(creds.mini_program)  # type: ignore[arg-type]
    openid = mp.code_to_session("u1").openid
    mp.send_subscribe_message(openid=openid, template_id="TPL-daily", page="pages/me/me",
                              data={"thing1": "今日新增粉丝 3 人", "amount2": {"value": "¥12.30"}})
    [msg] = sbx.subscribe_messages
    assert msg["touser"] == openid and msg["user"] == "u1" and msg["page"] == "pages/me/me"
    assert msg["data"] == {"thing1": {"value": "今日新增粉丝 3 人"}, "amount2": {"value": "¥12.30"}}


def test_a_user_who_refused_the_template_raises_subscribe_refused(
        sbx: SandboxServer, gw: WeChatGateway, creds: TenantWeChatCredentials) -> None:
    mp = gw.mini_program(creds.mini_program)  # type: ignore[arg-type]
    openid = mp.code_to_session("u9").openid
    sbx.refuse_subscribe(openid, "TPL-daily")
    with pytest.raises(SubscribeRefused) as err:
        mp.send_subscribe_message(openid=openid, template_id="TPL-daily", data={"thing1": "x"})
    assert err.value.wechat_code == 43101 and sbx.subscribe_messages == []


def test_an_openid_of_another_app_is_refused(sbx: SandboxServer, gw: WeChatGateway,
                                             creds: TenantWeChatCredentials) -> None:
    mp = gw.mini_program(creds.mini_program)  # type: ignore[arg-type]
    foreign = sbx.openid_for("wx_other_app_0001", "u1")
    with pytest.raises(WeChatUpstreamError) as err:
        mp.send_subscribe_message(openid=foreign, template_id="T", data={"thing1": "x"})
    assert err.value.wechat_code == 40003


def test_phone_number_comes_back_for_a_phone_code(gw: WeChatGateway,
                                                  creds: TenantWeChatCredentials) -> None:
    mp = gw.mini_program(creds.mini_program)  # type: ignore[arg-type]
    phone = mp.get_phone_number("p:13800138000")
    assert (phone.pure_phone_number, phone.country_code) == ("13800138000", "86")
    derived = mp.get_phone_number("any-code")
    assert derived == mp.get_phone_number("any-code")
    assert len(derived.pure_phone_number) == 11 and derived.pure_phone_number.startswith("13")
    with pytest.raises(InvalidPhoneCode):
        mp.get_phone_number("invalid")
