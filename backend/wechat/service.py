"""The WeChat edge seen from a tenant: the app's gateway plus the tenant's credentials.

Services call these instead of building clients, so mode (sandbox/live), token
storage and credential decryption are decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import current_app

from backend.errors import DomainError
from backend.extensions import get_redis
from backend.process_cache import ProcessCache
from backend.tenants.crypto import decrypt_json
from backend.tenants.service import (
    stored_credentials_by_slug,
    stored_named_credentials_by_slug,
    tenant_credentials,
)
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
from backend.wechat.token_store import TokenStore


class ChannelNotConfigured(DomainError):
    code = "wechat_not_configured"
    http_status = 409
    message = "商户尚未配置该微信渠道"


def gateway() -> WeChatGateway:
    """The app's gateway (one per app: it caches clients and access tokens)."""
    gw = current_app.extensions.get("siyu_wechat")
    if gw is None:
        s = current_app.config["SIYU_SETTINGS"]
        settings = GatewaySettings(mode=s.wechat_mode, sandbox_url=s.wechat_sandbox_url,
                                   timeout_seconds=s.wechat_timeout_seconds)
        # Tokens shared through Redis across workers (fakeredis when embedded), kept per
        # process while Redis is down (backend/wechat/token_store.py).
        session = TokenStore(get_redis(), prefix=f"siyu:wechat:{s.wechat_mode}")
        gw = WeChatGateway(settings, session=session)
        current_app.extensions["siyu_wechat"] = gw
    return gw  # type: ignore[no-any-return]


def credentials(*, tenant_id: int) -> TenantWeChatCredentials:
    """The tenant's decrypted credentials as the gateway's value objects."""
    return TenantWeChatCredentials.from_flat(tenant_credentials(tenant_id=tenant_id))


@lru_cache(maxsize=1024)
def _decrypted_pay(public: tuple[tuple[str, Any], ...], secrets: str | None, key: str) -> PayCredentials | None:
    # Keyed by the stored values themselves (and the encryption key): a credential
    # change is a new key, so nothing here is ever stale; `key` only keys the cache.
    flat: dict[str, Any] = dict(public)
    flat.update(decrypt_json(secrets))
    return TenantWeChatCredentials.from_flat(flat).pay


# The payment notification's credentials, per process and slug, for a short while: a
# tenant's slug and id never change, and its pay credentials rarely do. A notification
# that fails verification or names another merchant than the cached credentials is
# checked again against the stored ones (pay_credentials_by_slug(fresh=True)), so a key
# rotation is picked up at its first notification; anything else waits at most this long.
PAY_CREDENTIALS_TTL_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class TenantPay:
    tenant_id: int
    creds: PayCredentials
    cached: bool  # from this process's cache (up to PAY_CREDENTIALS_TTL_SECONDS old)


_PAY_CACHE: ProcessCache[TenantPay] = ProcessCache("pay_credentials", PAY_CREDENTIALS_TTL_SECONDS)


def cached_pay_credentials(*, slug: str) -> TenantPay | None:
    """The cached entry for this slug, if fresh; never touches the database."""
    return _PAY_CACHE.peek(slug)


def pay_credentials_by_slug(*, slug: str, fresh: bool = False) -> TenantPay:
    """(tenant id, pay credentials) for the payment notification: from the cache unless
    `fresh`, else one narrow read, the decryption done once per process for as long as
    the stored values stay the same."""
    if not fresh:
        hit = _PAY_CACHE.peek(slug)
        if hit is not None:
            return hit
    tenant_id, public, secrets = stored_credentials_by_slug(slug=slug)
    creds = _decrypted_pay(public, secrets, current_app.config["SIYU_SETTINGS"].encryption_key)
    if creds is None:
        raise ChannelNotConfigured("商户尚未配置微信支付")
    _PAY_CACHE.put(slug, TenantPay(tenant_id, creds, cached=True))
    return TenantPay(tenant_id, creds, cached=False)


def forget_cached_credentials() -> None:
    """Drop this process's cached pay and official-account credentials (tests; after a
    credential change)."""
    _PAY_CACHE.forget()
    _OA_CACHE.forget()


def mini_program_credentials(*, tenant_id: int) -> MiniProgramCredentials:
    creds = credentials(tenant_id=tenant_id).mini_program
    if creds is None:
        raise ChannelNotConfigured("商户尚未配置小程序")
    return creds


@lru_cache(maxsize=1024)
def _decrypted_oa(public: tuple[tuple[str, Any], ...], secrets: str | None,
                  key: str) -> OfficialAccountCredentials | None:
    # As _decrypted_pay: keyed by the stored values, so never stale.
    flat: dict[str, Any] = dict(public)
    flat.update(decrypt_json(secrets))
    return TenantWeChatCredentials.from_flat(flat).official_account


@dataclass(frozen=True, slots=True)
class TenantOfficialAccount:
    tenant_id: int
    name: str
    creds: OfficialAccountCredentials
    cached: bool = False  # from this process's cache (up to OA_CREDENTIALS_TTL_SECONDS old)


# The official account's pushes (a follower surge's every request), as the payment
# notification's: per process and slug, for a short while. A push that does not verify
# against the cached credentials is checked again against the stored ones
# (official_account_by_slug(fresh=True)), so a token or key rotation is picked up at its
# first push; credentials the tenant has just replaced may still verify a push in another
# process for at most this long (this process drops them when it commits the change).
OA_CREDENTIALS_TTL_SECONDS = 5.0
_OA_CACHE: ProcessCache[TenantOfficialAccount] = ProcessCache("oa_credentials", OA_CREDENTIALS_TTL_SECONDS)


def official_account_by_slug(*, slug: str, fresh: bool = False) -> TenantOfficialAccount:
    """(tenant id, brand name, official-account credentials) for a push to /oa/<slug>:
    from the cache unless `fresh`, else one narrow read, the decryption done once per
    process for as long as the stored values stay the same."""
    if not fresh:
        hit = _OA_CACHE.peek(slug)
        if hit is not None:
            return hit
    tenant_id, name, public, secrets = stored_named_credentials_by_slug(slug=slug)
    creds = _decrypted_oa(public, secrets, current_app.config["SIYU_SETTINGS"].encryption_key)
    if creds is None:
        raise ChannelNotConfigured("商户尚未配置公众号")
    _OA_CACHE.put(slug, TenantOfficialAccount(tenant_id, name, creds, cached=True))
    return TenantOfficialAccount(tenant_id, name, creds)


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
