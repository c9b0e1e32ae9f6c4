"""WeChat Pay v3 through `wechatpayv3` in public-key mode (微信支付公钥).

Outbound: JSAPI prepay (with the signed wx.requestPayment parameters), query, close,
refund, merchant transfer (商家转账) — each answer's signature is verified by
wechatpayv3. Inbound: `parse_pay_notification` verifies the platform signature,
refuses timestamps more than 5 minutes off, and decrypts the AEAD_AES_256_GCM
resource with the APIv3 key.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import requests
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.utils import load_public_key, rsa_verify

from backend.types import CHINA_TZ  # noqa: F401  (re-exported)
from backend.wechat.credentials import PayCredentials
from backend.wechat.errors import (
    NotificationBadSignature,
    NotificationMalformed,
    NotificationStale,
    PayeeNameRequired,
    PayOrderNotFound,
    PayRequestRejected,
    PayResponseUnverified,
    WeChatRateLimited,
    WeChatUnavailable,
)
from backend.wechat.settings import Endpoints

NOTIFICATION_TOLERANCE = timedelta(minutes=5)
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
# 商家转账 scene 1005 (佣金报酬) needs these two report lines; tenants may override.
DEFAULT_TRANSFER_SCENE_ID = "1005"
DEFAULT_TRANSFER_REPORT_INFOS: tuple[tuple[str, str], ...] = (
    ("岗位类型", "推广员"), ("报酬说明", "推广佣金"))
TRANSFER_NAME_REQUIRED_FEN = 200_000  # 2000 yuan
_NOT_FOUND = {"ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS", "NOT_FOUND", "RESOURCE_NOT_EXIST"}
_RATE = {"FREQUENCY_LIMITED", "RATELIMIT_EXCEEDED", "FREQUENCY_LIMIT_EXCEED"}


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _fen(value: Any) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class Transaction:
    """A payment as WeChat Pay reports it (query answer or TRANSACTION.SUCCESS)."""

    out_trade_no: str
    transaction_id: str | None
    trade_state: str  # SUCCESS, NOTPAY, CLOSED, REFUND, USERPAYING, PAYERROR, REVOKED
    trade_state_desc: str
    appid: str
    mchid: str
    amount_total_fen: int
    payer_total_fen: int
    currency: str
    payer_openid: str | None
    success_time: datetime | None
    attach: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def paid(self) -> bool:
        return self.trade_state == "SUCCESS"

    @classmethod
    def from_resource(cls, r: Mapping[str, Any]) -> Transaction:
        amount = r.get("amount") or {}
        return cls(out_trade_no=str(r.get("out_trade_no", "")),
                   transaction_id=r.get("transaction_id") or None,
                   trade_state=str(r.get("trade_state", "")),
                   trade_state_desc=str(r.get("trade_state_desc", "")),
                   appid=str(r.get("appid", "")), mchid=str(r.get("mchid", "")),
                   amount_total_fen=_fen(amount.get("total")),
                   payer_total_fen=_fen(amount.get("payer_total")),
                   currency=str(amount.get("currency", "CNY")),
                   payer_openid=(r.get("payer") or {}).get("openid") or None,
                   success_time=_time(r.get("success_time")), attach=r.get("attach") or None,
                   raw=dict(r))


@dataclass(frozen=True)
class Refund:
    """A refund (refund answer, query, or REFUND.* notification)."""

    out_refund_no: str
    refund_id: str | None
    out_trade_no: str
    transaction_id: str | None
    status: str  # SUCCESS, PROCESSING, CLOSED, ABNORMAL
    refund_fen: int
    total_fen: int
    payer_refund_fen: int
    success_time: datetime | None
    user_received_account: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_resource(cls, r: Mapping[str, Any]) -> Refund:
        amount = r.get("amount") or {}
        return cls(out_refund_no=str(r.get("out_refund_no", "")),
                   refund_id=r.get("refund_id") or None,
                   out_trade_no=str(r.get("out_trade_no", "")),
                   transaction_id=r.get("transaction_id") or None,
                   status=str(r.get("refund_status") or r.get("status") or ""),
                   refund_fen=_fen(amount.get("refund")), total_fen=_fen(amount.get("total")),
                   payer_refund_fen=_fen(amount.get("payer_refund")),
                   success_time=_time(r.get("success_time")),
                   user_received_account=r.get("user_received_account") or None, raw=dict(r))


@dataclass(frozen=True)
class TransferBill:
    """A merchant transfer (商家转账) bill; the payee confirms before money moves."""

    out_bill_no: str
    transfer_bill_no: str | None
    # ACCEPTED, PROCESSING, WAIT_USER_CONFIRM, TRANSFERING, SUCCESS, FAIL, CANCELING, CANCELLED
    state: str
    amount_fen: int
    openid: str | None
    fail_reason: str | None
    package_info: str | None  # for wx.requestMerchantTransfer while WAIT_USER_CONFIRM
    create_time: datetime | None
    update_time: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def final(self) -> bool:
        return self.state in ("SUCCESS", "FAIL", "CANCELLED")

    @classmethod
    def from_resource(cls, r: Mapping[str, Any]) -> TransferBill:
        return cls(out_bill_no=str(r.get("out_bill_no", "")),
                   transfer_bill_no=r.get("transfer_bill_no") or None,
                   state=str(r.get("state", "")), amount_fen=_fen(r.get("transfer_amount")),
                   openid=r.get("openid") or None, fail_reason=r.get("fail_reason") or None,
                   package_info=r.get("package_info") or None,
                   create_time=_time(r.get("create_time")), update_time=_time(r.get("update_time")),
                   raw=dict(r))


@dataclass(frozen=True)
class PayNotification:
    """A verified, decrypted notification. Dispatch on `kind`."""

    id: str
    event_type: str  # TRANSACTION.SUCCESS, REFUND.*, MCHTRANSFER.BILL.FINISHED, PROFITSHARING.SUCCESS|CLOSED
    create_time: datetime | None
    summary: str
    resource: Mapping[str, Any] = field(compare=False)

    @property
    def kind(self) -> str:
        """transaction | refund | transfer | other"""
        head = self.event_type.split(".", 1)[0]
        return {"TRANSACTION": "transaction", "REFUND": "refund",
                "MCHTRANSFER": "transfer", "PROFITSHARING": "sharing"}.get(head, "other")

    def transaction(self) -> Transaction:
        return Transaction.from_resource(self.resource)

    def refund(self) -> Refund:
        return Refund.from_resource(self.resource)

    def transfer_bill(self) -> TransferBill:
        return TransferBill.from_resource(self.resource)


@dataclass(frozen=True)
class SharingReceiver:
    account: str
    amount_fen: int
    result: str  # PENDING | SUCCESS | CLOSED
    fail_reason: str | None = None


@dataclass(frozen=True)
class SharingOrder:
    """A profit-sharing order (分账单) as WeChat Pay answers or reports it."""

    transaction_id: str
    out_order_no: str
    order_id: str
    state: str  # PROCESSING | FINISHED
    receivers: tuple[SharingReceiver, ...]

    @classmethod
    def from_resource(cls, r: Mapping[str, Any]) -> SharingOrder:
        return cls(transaction_id=str(r.get("transaction_id", "")), out_order_no=str(r.get("out_order_no", "")),
                   order_id=str(r.get("order_id", "")), state=str(r.get("state", "")),
                   receivers=tuple(SharingReceiver(account=str(x.get("account", "")), amount_fen=_fen(x.get("amount")),
                                                   result=str(x.get("result", "")), fail_reason=x.get("fail_reason"))
                                   for x in r.get("receivers") or ()))

    @classmethod
    def from_notification(cls, r: Mapping[str, Any], event_type: str) -> SharingOrder:
        """A PROFITSHARING.SUCCESS|CLOSED notification: one receiver's final result."""
        x = r.get("receiver") or {}
        result = "SUCCESS" if event_type.endswith(".SUCCESS") else "CLOSED"
        return cls(transaction_id=str(r.get("transaction_id", "")), out_order_no=str(r.get("out_order_no", "")),
                   order_id=str(r.get("order_id", "")), state="FINISHED",
                   receivers=(SharingReceiver(account=str(x.get("account", "")), amount_fen=_fen(x.get("amount")),
                                              result=result),))


@dataclass(frozen=True)
class SharingReturn:
    """A profit-sharing return (分账回退)."""

    out_return_no: str
    return_mchid: str
    amount_fen: int
    result: str  # PROCESSING | SUCCESS | FAILED
    fail_reason: str | None

    @classmethod
    def from_resource(cls, r: Mapping[str, Any]) -> SharingReturn:
        return cls(out_return_no=str(r.get("out_return_no", "")), return_mchid=str(r.get("return_mchid", "")),
                   amount_fen=_fen(r.get("amount")), result=str(r.get("result", "")), fail_reason=r.get("fail_reason"))


@dataclass(frozen=True)
class PrepayResult:
    prepay_id: str
    appid: str
    # Exactly what the mini-program passes to wx.requestPayment.
    request_payment: Mapping[str, str]


# --- wechatpayv3 instances --------------------------------------------------------

_instances: dict[tuple[PayCredentials, str, float], WeChatPay] = {}
_instances_lock = threading.Lock()


def _wechatpay(creds: PayCredentials, gate_way: str, timeout: float) -> WeChatPay:
    """One WeChatPay per credentials and gateway (key parsing is not free)."""
    key = (creds, gate_way, timeout)
    with _instances_lock:
        wxpay = _instances.get(key)
        if wxpay is None:
            wxpay = WeChatPay(
                wechatpay_type=WeChatPayType.MINIPROG, mchid=creds.mchid,
                private_key=creds.private_key_pem, cert_serial_no=creds.cert_serial_no,
                appid=creds.appid, apiv3_key=creds.apiv3_key, notify_url=creds.notify_url,
                public_key=creds.public_key_pem, public_key_id=creds.public_key_id,
                timeout=timeout)
            # wechatpayv3 has no public option for its host; this is our own instance.
            wxpay._core._gate_way = gate_way
            if len(_instances) > 512:
                _instances.clear()
            _instances[key] = wxpay
        return wxpay


# --- inbound ----------------------------------------------------------------------

_HEADER_NAMES = ("Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce",
                 "Wechatpay-Serial", "Wechatpay-Signature-Type")


def _canonical_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    lowered = {str(k).lower().replace("_", "-"): v for k, v in headers.items()}
    out = {}
    for name in _HEADER_NAMES:
        value = lowered.get(name.lower())
        if value is None:
            value = lowered.get("http-" + name.lower())  # WSGI environ style
        out[name] = value if isinstance(value, str) else ("" if value is None else str(value))
    return out



@lru_cache(maxsize=256)
def _public_key(pem: str) -> Any:
    return load_public_key(pem)


def parse_pay_notification(creds: PayCredentials, *, headers: Mapping[str, Any],
                           body: bytes | str, now: datetime,
                           tolerance: timedelta = NOTIFICATION_TOLERANCE) -> PayNotification:
    """Verify, check freshness, decrypt. Raises (in this order of checks):

    NotificationBadSignature (401, "bad_signature"): headers missing, unknown serial,
      wrong signature type, or the signature does not verify (forged or tampered);
    NotificationStale (401, "stale_notification"): validly signed but the timestamp is
      more than `tolerance` away from `now` (a replay);
    NotificationMalformed (400, "bad_notification"): signed but undecryptable/unreadable.
    `now` should be timezone-aware; a naive value is taken as UTC.
    """
    h = _canonical_headers(headers)
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if not (h["Wechatpay-Signature"] and h["Wechatpay-Timestamp"] and h["Wechatpay-Nonce"]):
        raise NotificationBadSignature("通知缺少签名头")
    if h["Wechatpay-Signature-Type"] not in ("", SIGNATURE_TYPE):
        raise NotificationBadSignature("不支持的签名类型")
    if h["Wechatpay-Serial"] != creds.public_key_id:
        raise NotificationBadSignature("通知的微信支付公钥ID不匹配")
    if not rsa_verify(h["Wechatpay-Timestamp"], h["Wechatpay-Nonce"], text,
                      h["Wechatpay-Signature"], _public_key(creds.public_key_pem)):
        raise NotificationBadSignature()
    try:
        sent_at = int(h["Wechatpay-Timestamp"])
    except ValueError as exc:
        raise NotificationBadSignature("通知时间戳无效") from exc
    current = now if now.tzinfo else now.replace(tzinfo=UTC)
    if abs(current.timestamp() - sent_at) > tolerance.total_seconds():
        raise NotificationStale()
    h["Wechatpay-Signature-Type"] = SIGNATURE_TYPE
    wxpay = _wechatpay(creds, Endpoints.live().mch, 10.0)  # no network used here
    try:
        data = wxpay.callback(h, text)
    except Exception as exc:  # unsupported algorithm, bad JSON
        raise NotificationMalformed() from exc
    if not data or not isinstance(data.get("resource"), dict):
        raise NotificationMalformed()
    return PayNotification(id=str(data.get("id", "")), event_type=str(data.get("event_type", "")),
                           create_time=_time(data.get("create_time")),
                           summary=str(data.get("summary", "")), resource=data["resource"])


# --- bills -------------------------------------------------------------------------

def parse_bill(text: str) -> list[dict[str, str]]:
    """WeChat Pay's bill text: a header line, detail lines whose fields start with a
    backquote, then a summary header and line (dropped)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return []
    header = lines[0].split(",")
    rows = []
    for ln in lines[1:]:
        if not ln.startswith("`"):
            break  # the summary's header
        values = [v[1:] if v.startswith("`") else v for v in ln.split(",")]
        rows.append(dict(zip(header, values, strict=False)))
    return rows


# --- outbound ---------------------------------------------------------------------

def _check_fen(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer number of fen")
    return value


class PayApi:
    """One tenant's merchant, through wechatpayv3 (live or sandbox gateway)."""

    def __init__(self, creds: PayCredentials, *, endpoints: Endpoints, timeout: float) -> None:
        self.credentials = creds
        self._wxpay = _wechatpay(creds, endpoints.mch, timeout)

    def _request(self, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            code, text = fn(*args, **kwargs)
        except requests.RequestException as exc:
            raise WeChatUnavailable() from exc
        except Exception as exc:
            if "verify the signature" in str(exc):
                raise PayResponseUnverified() from exc
            raise
        body: dict[str, Any] = {}
        if isinstance(text, str) and text:
            try:
                body = json.loads(text)
            except ValueError:
                body = {}
        if 200 <= code < 300:
            return body
        wcode, wmsg = str(body.get("code", code)), str(body.get("message", ""))
        cls = (PayOrderNotFound if wcode in _NOT_FOUND or code == 404
               else WeChatRateLimited if wcode in _RATE or code == 429 else PayRequestRejected)
        raise cls(wechat_code=wcode, wechat_message=wmsg)

    def jsapi_prepay(self, *, out_trade_no: str, description: str, amount_fen: int,
                     payer_openid: str, attach: str | None = None,
                     time_expire: datetime | None = None, notify_url: str | None = None,
                     profit_sharing: bool = False) -> PrepayResult:
        """Create a mini-program payment and sign the wx.requestPayment parameters."""
        _check_fen("amount_fen", amount_fen)
        res = self._request(
            self._wxpay.pay, description=description, out_trade_no=out_trade_no,
            amount={"total": amount_fen, "currency": "CNY"}, payer={"openid": payer_openid},
            attach=attach, notify_url=notify_url,
            time_expire=time_expire.astimezone(CHINA_TZ).isoformat(timespec="seconds")
            if time_expire else None,
            settle_info={"profit_sharing": True} if profit_sharing else None,
            pay_type=WeChatPayType.MINIPROG)
        prepay_id = str(res["prepay_id"])
        return PrepayResult(prepay_id=prepay_id, appid=self.credentials.appid,
                            request_payment=self.sign_request_payment(prepay_id))

    def sign_request_payment(self, prepay_id: str, *, timestamp: int | None = None,
                             nonce: str | None = None) -> dict[str, str]:
        """wx.requestPayment parameters for an existing prepay_id (RSA, merchant key)."""
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce_str = nonce or secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        pay_sign = self._wxpay.sign([self.credentials.appid, ts, nonce_str, package])
        return {"timeStamp": ts, "nonceStr": nonce_str, "package": package,
                "signType": "RSA", "paySign": pay_sign}

    def query_order(self, *, out_trade_no: str) -> Transaction:
        """The payment's state at WeChat Pay; PayOrderNotFound when unknown."""
        return Transaction.from_resource(self._request(self._wxpay.query, out_trade_no=out_trade_no))

    def close_order(self, *, out_trade_no: str) -> None:
        """Close an unpaid order so it can no longer be paid."""
        self._request(self._wxpay.close, out_trade_no)

    def refund(self, *, out_refund_no: str, refund_fen: int, total_fen: int,
               out_trade_no: str | None = None, transaction_id: str | None = None,
               reason: str | None = None, notify_url: str | None = None) -> Refund:
        """Ask for a (partial) refund; the result arrives as a REFUND.* notification."""
        _check_fen("refund_fen", refund_fen)
        _check_fen("total_fen", total_fen)
        if not (out_trade_no or transaction_id):
            raise ValueError("out_trade_no or transaction_id is required")
        res = self._request(
            self._wxpay.refund, out_refund_no=out_refund_no,
            amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"},
            transaction_id=transaction_id, out_trade_no=out_trade_no, reason=reason,
            notify_url=notify_url or self.credentials.refund_url)
        return Refund.from_resource(res)

    def query_refund(self, *, out_refund_no: str) -> Refund:
        return Refund.from_resource(self._request(self._wxpay.query_refund, out_refund_no))

    def transfer(self, *, out_bill_no: str, openid: str, amount_fen: int, remark: str,
                 scene_id: str = DEFAULT_TRANSFER_SCENE_ID,
                 report_infos: Sequence[tuple[str, str]] = DEFAULT_TRANSFER_REPORT_INFOS,
                 user_name: str | None = None, user_recv_perception: str | None = None,
                 notify_url: str | None = None) -> TransferBill:
        """Start a merchant transfer (商家转账) to a member's wallet.

        The usual answer is WAIT_USER_CONFIRM with `package_info` for the payee's
        wx.requestMerchantTransfer; the final state arrives as MCHTRANSFER.BILL.FINISHED.
        `user_name` is encrypted with the WeChat Pay public key (required ≥ 2000 yuan).
        """
        _check_fen("amount_fen", amount_fen)
        if amount_fen >= TRANSFER_NAME_REQUIRED_FEN and not user_name:
            raise PayeeNameRequired()
        res = self._request(
            self._wxpay.mch_transfer_bills, out_bill_no=out_bill_no, transfer_scene_id=scene_id,
            openid=openid, transfer_amount=amount_fen, transfer_remark=remark, user_name=user_name,
            user_recv_perception=user_recv_perception,
            transfer_scene_report_infos=[{"info_type": t, "info_content": c}
                                         for t, c in report_infos],
            notify_url=notify_url or self.credentials.transfer_url)
        res.setdefault("transfer_amount", amount_fen)
        res.setdefault("openid", openid)
        return TransferBill.from_resource(res)

    def query_transfer(self, *, out_bill_no: str) -> TransferBill:
        return TransferBill.from_resource(
            self._request(self._wxpay.mch_transfer_bills_query, out_bill_no=out_bill_no))

    def cancel_transfer(self, *, out_bill_no: str) -> TransferBill:
        """Cancel a transfer the payee has not confirmed yet (→ CANCELING, then CANCELLED)."""
        return TransferBill.from_resource(
            self._request(self._wxpay.mch_transfer_bills_cancel, out_bill_no))

    # --- profit sharing (分账) -------------------------------------------------------

    def sharing_add_receiver(self, *, account: str, name: str | None = None,
                             relation_type: str = "SUPPLIER") -> None:
        """Add a merchant (its mchid) as a receiver of this merchant's splits (idempotent)."""
        self._request(self._wxpay.profitsharing_add_receiver, account_type="MERCHANT_ID", account=account,
                      relation_type=relation_type, name=name)

    def sharing_order(self, *, transaction_id: str, out_order_no: str,
                      receivers: Sequence[tuple[str, int, str]], unfreeze_unsplit: bool) -> SharingOrder:
        """Split a paid order among (mchid, fen, description) receivers; with
        unfreeze_unsplit the rest goes to the merchant at once. Idempotent by out_order_no."""
        for _, fen, _ in receivers:
            _check_fen("amount", fen)
        return SharingOrder.from_resource(self._request(
            self._wxpay.profitsharing_order, transaction_id=transaction_id, out_order_no=out_order_no,
            receivers=[{"type": "MERCHANT_ID", "account": a, "amount": fen, "description": d}
                       for a, fen, d in receivers], unfreeze_unsplit=unfreeze_unsplit))

    def query_sharing(self, *, transaction_id: str, out_order_no: str) -> SharingOrder:
        return SharingOrder.from_resource(self._request(
            self._wxpay.profitsharing_order_query, transaction_id=transaction_id, out_order_no=out_order_no))

    def unfreeze(self, *, transaction_id: str, out_order_no: str) -> None:
        """Release what is left unsplit of a payment to the merchant (no further splits)."""
        self._request(self._wxpay.profitsharing_unfreeze, transaction_id=transaction_id, out_order_no=out_order_no,
                      description="解冻剩余资金")

    def sharing_return(self, *, out_order_no: str, out_return_no: str, return_mchid: str, amount_fen: int,
                       description: str) -> SharingReturn:
        """Take back part of a receiver's share (before refunding the buyer). Idempotent by out_return_no."""
        _check_fen("amount_fen", amount_fen)
        return SharingReturn.from_resource(self._request(
            self._wxpay.profitsharing_return, out_return_no=out_return_no, return_mchid=return_mchid,
            amount=amount_fen, description=description, out_order_no=out_order_no))

    # --- bills (对账单) -------------------------------------------------------------

    def bill(self, *, kind: str, bill_date: str) -> list[dict[str, str]]:
        """A day's trade bill (kind "trade", 交易账单, ALL) or fund-flow bill ("fundflow",
        资金账单, basic account), downloaded, checked against its SHA1 and parsed: one
        dict per detail row, keyed by the bill's Chinese headers (the summary lines
        dropped). `bill_date` is a China date, YYYY-MM-DD."""
        if kind == "trade":
            info = self._request(self._wxpay.trade_bill, bill_date=bill_date, bill_type="ALL", tar_type="GZIP")
        elif kind == "fundflow":
            info = self._request(self._wxpay.fundflow_bill, bill_date=bill_date, account_type="BASIC",
                                 tar_type="GZIP")
        else:
            raise ValueError(kind)
        try:
            code, content = self._wxpay.download_bill(str(info["download_url"]))
        except requests.RequestException as exc:
            raise WeChatUnavailable() from exc
        if not 200 <= code < 300 or not isinstance(content, bytes):
            raise PayRequestRejected(wechat_code=str(code), wechat_message="账单下载失败")
        raw = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
        if hashlib.sha1(raw).hexdigest() != str(info.get("hash_value", "")).lower():
            raise PayResponseUnverified()
        return parse_bill(raw.decode("utf-8-sig"))

    def parse_notification(self, *, headers: Mapping[str, Any], body: bytes | str,
                           now: datetime) -> PayNotification:
        return parse_pay_notification(self.credentials, headers=headers, body=body, now=now)
