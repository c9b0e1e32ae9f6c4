"""Demo credentials that the product's demo tenant and the sandbox agree on.

Everything is derived from the tenant slug (ids) and the merchant id (pay keys), so
two processes compute the same values with no shared files: the sandbox recognises
any merchant whose keys follow `sandbox_merchant(mchid)` without registration.
For sandbox and demo use only: anyone can derive these keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from backend.wechat.credentials import (
    MiniProgramCredentials,
    OfficialAccountCredentials,
    PayCredentials,
    TenantWeChatCredentials,
    WeComCredentials,
)
from backend.wechat.keys import (
    derive_aes_key_43,
    derive_digits,
    derive_hex,
    derive_text,
    derived_rsa_key,
    private_key_pem,
    public_key_pem,
)


@dataclass(frozen=True)
class SandboxMerchant:
    """Both halves of a sandbox merchant: its own key and WeChat Pay's platform key."""

    mchid: str
    private_key_pem: str
    cert_serial_no: str
    apiv3_key: str
    platform_private_key_pem: str
    public_key_pem: str
    public_key_id: str


@lru_cache(maxsize=64)
def sandbox_merchant(mchid: str) -> SandboxMerchant:
    """The derived key material of a sandbox merchant (about 0.5 s once per mchid)."""
    merchant_key = derived_rsa_key(f"merchant:{mchid}")
    platform_key = derived_rsa_key(f"platform:{mchid}")
    return SandboxMerchant(
        mchid=mchid,
        private_key_pem=private_key_pem(merchant_key),
        cert_serial_no=derive_hex(f"serial:{mchid}", 40).upper(),
        apiv3_key=derive_text(f"apiv3:{mchid}", 32),
        platform_private_key_pem=private_key_pem(platform_key),
        public_key_pem=public_key_pem(platform_key),
        public_key_id="PUB_KEY_ID_" + derive_digits(f"pubkeyid:{mchid}", 28),
    )


def demo_mchid(tenant_slug: str) -> str:
    return "16" + derive_digits(f"mchid:{tenant_slug}", 8)


def demo_credentials(tenant_slug: str, *, pay_notify_url: str,
                     pay_refund_notify_url: str = "",
                     pay_transfer_notify_url: str = "") -> TenantWeChatCredentials:
    """A full credential set for a sandbox tenant, identical in every process.

    `pay_notify_url` is where the product receives pay notifications for this tenant
    (its route is the orders domain's choice).
    """
    s = tenant_slug
    mp = MiniProgramCredentials(appid="wx" + derive_hex(f"mp-appid:{s}", 16),
                                secret=derive_hex(f"mp-secret:{s}", 32))
    oa = OfficialAccountCredentials(
        appid="wx" + derive_hex(f"oa-appid:{s}", 16), secret=derive_hex(f"oa-secret:{s}", 32),
        token=derive_text(f"oa-token:{s}", 24), encoding_aes_key=derive_aes_key_43(f"oa-aes:{s}"),
        original_id="gh_" + derive_hex(f"oa-gh:{s}", 12))
    merchant = sandbox_merchant(demo_mchid(s))
    pay = PayCredentials(
        mchid=merchant.mchid, appid=mp.appid, private_key_pem=merchant.private_key_pem,
        cert_serial_no=merchant.cert_serial_no, apiv3_key=merchant.apiv3_key,
        public_key_pem=merchant.public_key_pem, public_key_id=merchant.public_key_id,
        notify_url=pay_notify_url, refund_notify_url=pay_refund_notify_url,
        transfer_notify_url=pay_transfer_notify_url)
    wecom = WeComCredentials(
        corp_id="ww" + derive_hex(f"corpid:{s}", 16), secret=derive_text(f"corpsecret:{s}", 43),
        agent_id=1000002, token=derive_text(f"wecom-token:{s}", 24),
        encoding_aes_key=derive_aes_key_43(f"wecom-aes:{s}"),
        robot_webhook_key=_uuid_like(derive_hex(f"robot:{s}", 32)))
    return TenantWeChatCredentials(mini_program=mp, official_account=oa, pay=pay, wecom=wecom)


def _uuid_like(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
