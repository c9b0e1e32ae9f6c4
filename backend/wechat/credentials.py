"""A tenant's WeChat credentials as frozen values (no database here).

The tenants domain stores them (secrets encrypted) as one flat dict; `from_flat` /
`to_flat` translate. Secrets never appear in repr(), so logging a credential set is
safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


class CredentialsInvalid(ValueError):
    """A credential set is incomplete or malformed (a configuration error)."""


@dataclass(frozen=True)
class MiniProgramCredentials:
    """Mini-program appid and secret."""

    appid: str
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        _require(self, "appid", "secret")


@dataclass(frozen=True)
class OfficialAccountCredentials:
    """Official account (公众号): API secret plus the message-push token and AES key.

    `encoding_aes_key` (43 characters) turns on safe mode; empty means plain mode.
    With a key, only encrypted pushes are accepted unless `message_mode` is
    "compatible" (WeChat's 兼容模式, chosen explicitly while switching over).
    `original_id` is the account's gh_ id (ToUserName of pushes); optional.
    """

    appid: str
    secret: str = field(repr=False)
    token: str = field(repr=False)
    encoding_aes_key: str = field(default="", repr=False)
    original_id: str = ""
    message_mode: str = "safe"  # safe | compatible (only meaningful with an AES key)

    def __post_init__(self) -> None:
        _require(self, "appid", "secret", "token")
        if self.encoding_aes_key and len(self.encoding_aes_key) != 43:
            raise CredentialsInvalid("encoding_aes_key must be 43 characters")
        if self.message_mode not in ("safe", "compatible"):
            raise CredentialsInvalid("message_mode must be safe or compatible")

    @property
    def safe_mode(self) -> bool:
        return bool(self.encoding_aes_key)

    @property
    def accepts_plaintext(self) -> bool:
        """Plaintext pushes are accepted without an AES key, or in compatible mode."""
        return not self.encoding_aes_key or self.message_mode == "compatible"


@dataclass(frozen=True)
class PayCredentials:
    """WeChat Pay v3 merchant in public-key mode (微信支付公钥).

    `appid` is the app the merchant is bound to (normally the mini-program).
    `notify_url` receives payment notifications; refund and transfer notifications
    go to their own URLs when given, else to the same one (dispatch by event_type).
    """

    mchid: str
    appid: str
    private_key_pem: str = field(repr=False)
    cert_serial_no: str
    apiv3_key: str = field(repr=False)
    public_key_pem: str = field(repr=False)
    public_key_id: str
    notify_url: str
    refund_notify_url: str = ""
    transfer_notify_url: str = ""

    def __post_init__(self) -> None:
        _require(self, "mchid", "appid", "private_key_pem", "cert_serial_no", "apiv3_key",
                 "public_key_pem", "public_key_id", "notify_url")
        if len(self.apiv3_key.encode()) != 32:
            raise CredentialsInvalid("apiv3_key must be 32 bytes")

    @property
    def refund_url(self) -> str:
        return self.refund_notify_url or self.notify_url

    @property
    def transfer_url(self) -> str:
        return self.transfer_notify_url or self.notify_url


@dataclass(frozen=True)
class WeComCredentials:
    """WeCom (企业微信) corp with one self-built app, its callback token/AES key and
    optionally one group robot webhook key."""

    corp_id: str
    secret: str = field(repr=False)
    agent_id: int
    token: str = field(default="", repr=False)
    encoding_aes_key: str = field(default="", repr=False)
    robot_webhook_key: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        _require(self, "corp_id", "secret")
        if isinstance(self.agent_id, bool) or not isinstance(self.agent_id, int):
            raise CredentialsInvalid("agent_id must be an integer")
        if self.encoding_aes_key and len(self.encoding_aes_key) != 43:
            raise CredentialsInvalid("encoding_aes_key must be 43 characters")


@dataclass(frozen=True)
class TenantWeChatCredentials:
    """Everything one tenant (brand) has; any part may be missing."""

    mini_program: MiniProgramCredentials | None = None
    official_account: OfficialAccountCredentials | None = None
    pay: PayCredentials | None = None
    wecom: WeComCredentials | None = None

    @classmethod
    def from_flat(cls, flat: Mapping[str, Any]) -> TenantWeChatCredentials:
        """Build from the tenants domain's flat dict; a part is present when its id is."""
        g = lambda k: str(flat.get(k) or "")  # noqa: E731
        mp = oa = pay = wecom = None
        if g("mp_appid"):
            mp = MiniProgramCredentials(appid=g("mp_appid"), secret=g("mp_secret"))
        if g("oa_appid"):
            oa = OfficialAccountCredentials(
                appid=g("oa_appid"), secret=g("oa_secret"), token=g("oa_token"),
                encoding_aes_key=g("oa_aes_key"), original_id=g("oa_original_id"),
                message_mode=g("oa_message_mode") or "safe")
        if g("pay_mchid"):
            pay = PayCredentials(
                mchid=g("pay_mchid"), appid=g("pay_appid") or g("mp_appid"),
                private_key_pem=g("pay_private_key"), cert_serial_no=g("pay_cert_serial"),
                apiv3_key=g("pay_apiv3_key"), public_key_pem=g("pay_public_key"),
                public_key_id=g("pay_public_key_id"), notify_url=g("pay_notify_url"))
        if g("wecom_corpid"):
            try:
                agent_id = int(flat.get("wecom_agent_id") or 0)
            except (TypeError, ValueError) as exc:
                raise CredentialsInvalid("wecom_agent_id must be an integer") from exc
            wecom = WeComCredentials(
                corp_id=g("wecom_corpid"), secret=g("wecom_secret"), agent_id=agent_id,
                token=g("wecom_token"), encoding_aes_key=g("wecom_aes_key"),
                robot_webhook_key=g("wecom_robot_key"))
        return cls(mini_program=mp, official_account=oa, pay=pay, wecom=wecom)

    def to_flat(self) -> dict[str, Any]:
        """The flat dict the tenants domain stores (only the parts present)."""
        out: dict[str, Any] = {}
        if self.mini_program:
            out.update(mp_appid=self.mini_program.appid, mp_secret=self.mini_program.secret)
        if self.official_account:
            o = self.official_account
            out.update(oa_appid=o.appid, oa_secret=o.secret, oa_token=o.token,
                       oa_aes_key=o.encoding_aes_key, oa_original_id=o.original_id,
                       oa_message_mode=o.message_mode)
        if self.pay:
            p = self.pay
            out.update(pay_mchid=p.mchid, pay_appid=p.appid, pay_private_key=p.private_key_pem,
                       pay_cert_serial=p.cert_serial_no, pay_apiv3_key=p.apiv3_key,
                       pay_public_key=p.public_key_pem, pay_public_key_id=p.public_key_id,
                       pay_notify_url=p.notify_url)
        if self.wecom:
            w = self.wecom
            out.update(wecom_corpid=w.corp_id, wecom_secret=w.secret, wecom_agent_id=w.agent_id,
                       wecom_token=w.token, wecom_aes_key=w.encoding_aes_key,
                       wecom_robot_key=w.robot_webhook_key)
        return out


def _require(obj: object, *names: str) -> None:
    missing = [n for n in names if not getattr(obj, n)]
    if missing:
        raise CredentialsInvalid(f"{type(obj).__name__}: missing {', '.join(missing)}")
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if f.type == "str" and not isinstance(value, str):
            raise CredentialsInvalid(f"{type(obj).__name__}.{f.name} must be a string")
