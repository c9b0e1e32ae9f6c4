"""Plain records the sandbox keeps and hands to tests (inspection and delivery)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class WireRequest:
    """An HTTP request exactly as the sandbox would send it (send it yourself, e.g.
    through a Flask test client: client.open(w.path, method=w.method,
    headers=w.headers, data=w.body))."""

    method: str
    url: str  # absolute URL including query string
    headers: Mapping[str, str]
    body: bytes

    @property
    def path(self) -> str:
        """Path + query string (for a test client)."""
        rest = self.url.split("://", 1)[-1]
        slash = rest.find("/")
        return rest[slash:] if slash >= 0 else "/"

    @property
    def query(self) -> dict[str, str]:
        from urllib.parse import parse_qsl, urlsplit
        return dict(parse_qsl(urlsplit(self.url).query))


@dataclass(frozen=True)
class HttpResult:
    """What the receiving endpoint answered (status None: could not connect)."""

    status_code: int | None
    body: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Notification:
    """One WeChat Pay notification. Its body (id, ciphertext) is fixed at creation, as
    WeChat re-sends the same notification; each delivery is signed afresh."""

    id: str
    mchid: str
    event_type: str
    kind: str  # transaction | refund | transfer
    url: str
    resource: Mapping[str, Any]  # the plaintext the product should decrypt
    body: str


@dataclass(frozen=True)
class Delivery:
    notification_id: str
    url: str
    variant: str  # ok | tampered | forged | stale
    result: HttpResult


@dataclass(frozen=True)
class PushResult:
    """An OA/WeCom push and the product's answer; `reply` holds the reply XML fields
    (decrypted in safe mode), None when the answer was "success" or empty."""

    request: WireRequest
    result: HttpResult
    reply: Mapping[str, str] | None = None

    @property
    def reply_text(self) -> str | None:
        return None if self.reply is None else self.reply.get("Content")


@dataclass
class PayOrder:
    mchid: str
    appid: str
    out_trade_no: str
    description: str
    total_fen: int
    payer_openid: str
    notify_url: str
    attach: str | None
    prepay_id: str
    request_body: Mapping[str, Any]
    created_at: float
    transaction_id: str | None = None
    trade_state: str = "NOTPAY"
    success_time: str | None = None
    refunded_fen: int = 0
    profit_sharing: bool = False  # settle_info.profit_sharing: funds frozen for 分账
    shared_fen: int = 0  # split to receivers, less what came back (分账回退)
    unfrozen: bool = False  # the remainder was released to the merchant (no more splits)


@dataclass
class RefundRecord:
    mchid: str
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund_fen: int
    total_fen: int
    notify_url: str
    reason: str | None
    created_at: str
    status: str = "PROCESSING"
    success_time: str | None = None


@dataclass
class SharingOrder:
    """A profit-sharing order (分账单): receivers each PENDING → SUCCESS or CLOSED."""

    mchid: str
    out_order_no: str
    order_id: str
    transaction_id: str
    out_trade_no: str
    receivers: list[dict[str, Any]]  # type, account, amount, description, result, detail_id, fail_reason
    notify_url: str
    create_time: str
    state: str = "PROCESSING"  # PROCESSING | FINISHED


@dataclass
class SharingReturn:
    """A profit-sharing return (分账回退): the receiver gives back part of its share."""

    mchid: str
    out_return_no: str
    return_id: str
    out_order_no: str
    order_id: str
    return_mchid: str
    amount: int
    description: str
    create_time: str
    result: str = "SUCCESS"
    fail_reason: str | None = None


@dataclass
class TransferRecord:
    mchid: str
    appid: str
    out_bill_no: str
    transfer_bill_no: str
    openid: str
    amount_fen: int
    remark: str
    scene_id: str
    user_name: str | None
    notify_url: str
    request_body: Mapping[str, Any]
    create_time: str
    update_time: str
    state: str = "WAIT_USER_CONFIRM"
    fail_reason: str | None = None
    package_info: str = ""


@dataclass
class SandboxApp:
    """A mini-program or official account the sandbox knows; secret None = any."""

    appid: str
    kind: str  # mp | oa
    secret: str | None = None
    token: str = ""
    encoding_aes_key: str = ""
    original_id: str = ""
    push_url: str | None = None


@dataclass
class SandboxCorp:
    corp_id: str
    secret: str | None = None
    agent_id: int | None = None
    token: str = ""
    encoding_aes_key: str = ""
    callback_url: str | None = None


@dataclass
class ExternalContactRecord:
    corp_id: str
    external_userid: str
    user: str  # sandbox user key
    name: str
    unionid: str
    follow: dict[str, dict[str, Any]] = field(default_factory=dict)  # userid -> follow info
