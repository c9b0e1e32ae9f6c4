"""Switching between sandbox and live is configuration: where each client points."""

from __future__ import annotations

import pytest

from backend.wechat.credentials import TenantWeChatCredentials
from backend.wechat.demo import demo_credentials
from backend.wechat.gateway import GatewaySettings, WeChatGateway


@pytest.fixture(scope="module")
def creds() -> TenantWeChatCredentials:
    return demo_credentials("wechat-tests", pay_notify_url="https://example.test/notify")


def _targets(gw: WeChatGateway, creds: TenantWeChatCredentials) -> dict[str, str]:
    mp = gw.mini_program(creds.mini_program)._client  # type: ignore[arg-type]
    wc = gw.wecom(creds.wecom)._client  # type: ignore[arg-type]
    return {"cgi": mp.API_BASE_URL, "wxa": mp.wxa.API_BASE_URL, "qy": wc.API_BASE_URL,
            "pay": gw.pay(creds.pay)._wxpay._core._gate_way}  # type: ignore[arg-type]


def test_live_mode_points_every_client_at_wechat(creds: TenantWeChatCredentials) -> None:
    gw = WeChatGateway.from_env(environ={"WECHAT_MODE": "live"})
    assert _targets(gw, creds) == {
        "cgi": "https://api.weixin.qq.com/cgi-bin/", "wxa": "https://api.weixin.qq.com/",
        "qy": "https://qyapi.weixin.qq.com/cgi-bin/", "pay": "https://api.mch.weixin.qq.com"}


def test_sandbox_mode_points_every_client_at_the_sandbox_prefixes(
        creds: TenantWeChatCredentials) -> None:
    gw = WeChatGateway.from_env(environ={"WECHAT_SANDBOX_URL": "http://127.0.0.1:5999/"})
    assert gw.settings.mode == "sandbox"
    assert _targets(gw, creds) == {
        "cgi": "http://127.0.0.1:5999/api/cgi-bin/", "wxa": "http://127.0.0.1:5999/api/",
        "qy": "http://127.0.0.1:5999/qyapi/cgi-bin/", "pay": "http://127.0.0.1:5999/mch"}


def test_overriding_one_gateway_leaves_wechatpys_classes_untouched(
        creds: TenantWeChatCredentials) -> None:
    from wechatpy.client import WeChatClient
    from wechatpy.client.api import WeChatWxa

    WeChatGateway(GatewaySettings(sandbox_url="http://127.0.0.1:5998")).mini_program(
        creds.mini_program)  # type: ignore[arg-type]
    assert WeChatClient.API_BASE_URL == "https://api.weixin.qq.com/cgi-bin/"
    assert WeChatWxa.API_BASE_URL == "https://api.weixin.qq.com/"


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        GatewaySettings(mode="staging")
