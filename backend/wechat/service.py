"""The WeChat edge seen from a tenant: the app's gateway plus the tenant's credentials.

Services call these instead of building clients, so mode (sandbox/live), token
storage and credential decryption are decided in one place.
"""

from __future__ import annotations

from flask import current_app

from backend.errors import DomainError
from backend.extensions import get_redis
from backend.tenants.service import tenant_credentials
from backend.wechat.credentials import (
    MiniProgramCredentials,
    OfficialAccountCredentials,
    PayCredentials,
    TenantWeChatCredentials,
    WeComCredentials,
)
from backend.wechat.gateway import WeChatGateway
from backend.wechat.mini_program import WxSession
from backend.wechat.settings import GatewaySettings


class ChannelNotConfigured(DomainError):
    code = "wechat_not_configured"
    http_status = 409
    message = "商户尚未配置该微信渠道"


def gateway() -> WeChatGateway:
    """The app's gateway (one per app: it caches clients and access tokens)."""
    gw = current_app.extensions.get("siyu_wechat")
    if gw is None:
        s = current_app.config["SIYU_SETTINGS"]
        from wechatpy.session.redisstorage import RedisStorage

        settings = GatewaySettings(mode=s.wechat_mode, sandbox_url=s.wechat_sandbox_url)
        # Tokens shared through Redis across workers; fakeredis when embedded.
        session = RedisStorage(get_redis(), prefix=f"siyu:wechat:{s.wechat_mode}")
        gw = WeChatGateway(settings, session=session)
        current_app.extensions["siyu_wechat"] = gw
    return gw  # type: ignore[no-any-return]


def credentials(*, tenant_id: int) -> TenantWeChatCredentials:
    """The tenant's decrypted credentials as the gateway's value objects."""
    return TenantWeChatCredentials.from_flat(tenant_credentials(tenant_id=tenant_id))


def mini_program_credentials(*, tenant_id: int) -> MiniProgramCredentials:
    creds = credentials(tenant_id=tenant_id).mini_program
    if creds is None:
        raise ChannelNotConfigured("商户尚未配置小程序")
    return creds


def official_account_credentials(*, tenant_id: int) -> OfficialAccountCredentials:
    creds = credentials(tenant_id=tenant_id).official_account
    if creds is None:
        raise ChannelNotConfigured("商户尚未配置公众号")
    return creds


def pay_credentials(*, tenant_id: int) -> PayCredentials:
    creds = credentials(tenant_id=tenant_id).pay
    if creds is None:
        raise ChannelNotConfigured("商户尚未配置微信支付")
    return creds


def wecom_credentials(*, tenant_id: int) -> WeComCredentials:
    creds = credentials(tenant_id=tenant_id).wecom
    if creds is None:
        raise ChannelNotConfigured("商户尚未配置企业微信")
    return creds


def code_to_session(*, tenant_id: int, js_code: str) -> WxSession:
    """Mini-program login code → openid/unionid (InvalidLoginCode when WeChat refuses)."""
    creds = mini_program_credentials(tenant_id=tenant_id)
    return gateway().mini_program(creds).code_to_session(js_code)
