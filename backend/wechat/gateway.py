"""The one small interface between Siyu and WeChat.

    gw = WeChatGateway.from_env(redis=redis_client)      # WECHAT_MODE, WECHAT_SANDBOX_URL
    gw.mini_program(creds.mini_program).code_to_session(code)
    gw.official_account(creds.official_account).create_qrcode_with_scene("p_42")
    gw.pay(creds.pay).jsapi_prepay(out_trade_no=…, description=…, amount_fen=…, payer_openid=…)
    gw.wecom(creds.wecom).add_contact_way(user_id="zhangsan", state="s_7")
    gw.post_group_robot(key, robot_text("…"))

Receiving (no network, no gateway needed): parse_pay_notification, verify_oa_url,
parse_oa_push, render_oa_reply, verify_wecom_url, parse_wecom_callback.

In sandbox mode every call goes over HTTP to the local emulator
(backend.wechat.sandbox), which speaks the real wire formats and signatures; in live
mode to WeChat's hosts. Nothing else changes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import requests
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from backend.wechat._wechatpy import AppClient, CorpClient
from backend.wechat.credentials import (
    MiniProgramCredentials,
    OfficialAccountCredentials,
    PayCredentials,
    TenantWeChatCredentials,
    WeComCredentials,
)
from backend.wechat.errors import SandboxOnly, WeChatUnavailable, WeChatUpstreamError
from backend.wechat.mini_program import MiniProgramApi, PhoneNumber, WxSession
from backend.wechat.official_account import (
    OaPush,
    OaQrCode,
    OaUser,
    OfficialAccountApi,
    parse_oa_push,
    render_oa_reply,
    verify_oa_url,
)
from backend.wechat.pay import (
    PayApi,
    PayNotification,
    PrepayResult,
    Refund,
    Transaction,
    TransferBill,
    parse_pay_notification,
)
from backend.wechat.settings import Endpoints, GatewaySettings
from backend.wechat.wecom import (
    ContactWay,
    ExternalContact,
    WeComApi,
    WeComEvent,
    parse_wecom_callback,
    post_group_robot,
    robot_image,
    robot_markdown,
    robot_text,
    verify_wecom_url,
)

__all__ = [
    "ContactWay", "Endpoints", "ExternalContact", "GatewaySettings", "MiniProgramApi",
    "OaPush", "OaQrCode", "OaUser", "OfficialAccountApi", "PayApi", "PayNotification",
    "PhoneNumber", "PrepayResult", "Refund", "TenantWeChatCredentials", "Transaction",
    "TransferBill", "WeChatGateway", "WeComApi", "WeComEvent", "WxSession",
    "parse_oa_push", "parse_pay_notification", "parse_wecom_callback", "render_oa_reply",
    "robot_image", "robot_markdown", "robot_text", "verify_oa_url", "verify_wecom_url",
]


class WeChatGateway:
    """Builds per-tenant API objects against live WeChat or the sandbox.

    Access tokens live in `session` (wechatpy SessionStorage): pass RedisStorage so
    all workers share one token per app (WeChat invalidates older tokens).
    API objects are cached per credentials; they are safe to share between threads.
    """

    def __init__(self, settings: GatewaySettings | None = None, *,
                 session: SessionStorage | None = None) -> None:
        self.settings = settings or GatewaySettings()
        self.endpoints: Endpoints = self.settings.endpoints
        self.session: SessionStorage = session or MemoryStorage()
        self._cache: dict[Any, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, *, redis: Any = None, environ: Mapping[str, str] | None = None,
                 key_prefix: str = "siyu:wechat") -> WeChatGateway:
        """Settings from WECHAT_MODE / WECHAT_SANDBOX_URL; tokens in Redis when given."""
        settings = GatewaySettings.from_env(environ)
        prefix = f"{key_prefix}:{settings.mode}"
        session = RedisStorage(redis, prefix=prefix) if redis is not None else MemoryStorage()
        return cls(settings, session=session)

    def _cached(self, key: Any, build: Any) -> Any:
        with self._lock:
            value = self._cache.get(key)
            if value is None:
                value = self._cache[key] = build()
            return value

    def mini_program(self, creds: MiniProgramCredentials) -> MiniProgramApi:
        return self._cached(("mp", creds), lambda: MiniProgramApi(AppClient(
            creds.appid, creds.secret, endpoints=self.endpoints, session=self.session,
            timeout=self.settings.timeout_seconds)))

    def official_account(self, creds: OfficialAccountCredentials) -> OfficialAccountApi:
        return self._cached(("oa", creds), lambda: OfficialAccountApi(AppClient(
            creds.appid, creds.secret, endpoints=self.endpoints, session=self.session,
            timeout=self.settings.timeout_seconds), creds))

    def pay(self, creds: PayCredentials) -> PayApi:
        return self._cached(("pay", creds), lambda: PayApi(
            creds, endpoints=self.endpoints, timeout=self.settings.timeout_seconds))

    def wecom(self, creds: WeComCredentials) -> WeComApi:
        return self._cached(("wecom", creds), lambda: WeComApi(CorpClient(
            creds.corp_id, creds.secret, endpoints=self.endpoints, session=self.session,
            timeout=self.settings.timeout_seconds), creds))

    def register_with_sandbox(self, creds: TenantWeChatCredentials, *,
                              oa_push_url: str | None = None,
                              wecom_callback_url: str | None = None) -> None:
        """Sandbox mode only: tell a sandbox in another process about a tenant (secrets
        to check, where to push OA events and WeCom callbacks). No-op when live."""
        if self.settings.mode != "sandbox":
            return
        try:
            res = requests.post(f"{self.settings.sandbox_url.rstrip('/')}/sandbox/register",
                                json={"credentials": creds.to_flat(), "oa_push_url": oa_push_url,
                                      "wecom_callback_url": wecom_callback_url},
                                timeout=self.settings.timeout_seconds)
            res.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatUnavailable("无法连接本地微信沙箱") from exc

    def sandbox_request_payment(self, params: Mapping[str, Any], *, appid: str) -> None:
        """Sandbox mode only: do what WeChat does on wx.requestPayment (check paySign, pay
        the order, push the signed notification) for a page outside WeChat (the H5 shop)."""
        if self.settings.mode != "sandbox":
            raise SandboxOnly()
        try:
            res = requests.post(f"{self.settings.sandbox_url.rstrip('/')}/sandbox/pay/request-payment",
                                json={"params": dict(params), "appid": appid},
                                timeout=self.settings.timeout_seconds)
        except requests.RequestException as exc:
            raise WeChatUnavailable("无法连接本地微信沙箱") from exc
        if res.status_code != 200:
            raise WeChatUpstreamError("沙箱支付失败", wechat_code=res.status_code, wechat_message=res.text[:200])

    def post_group_robot(self, webhook_key: str, payload: Mapping[str, Any]) -> None:
        """POST to a WeCom group robot (build payloads with robot_text/markdown/image)."""
        post_group_robot(self.endpoints, webhook_key, payload,
                         timeout=self.settings.timeout_seconds)
