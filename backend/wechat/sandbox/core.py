"""The sandbox's state and its Python control surface (tests and benchmarks use it).

Users are keys like "u1": the wx.login code "u1" logs that person in, and the same
key scans QR codes, follows official accounts, pays and adds staff on WeCom. Their
ids are derived (stable across runs): openid per app, unionid per person.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import qrcode
import requests
import xmltodict
from cryptography.hazmat.primitives.asymmetric import rsa
from wechatpy.crypto import PrpCrypto
from wechatpy.utils import WeChatSigner

from backend.types import CHINA_TZ  # noqa: F401  (re-exported)
from backend.wechat.credentials import (
    MiniProgramCredentials,
    OfficialAccountCredentials,
    PayCredentials,
    TenantWeChatCredentials,
    WeComCredentials,
)
from backend.wechat.demo import sandbox_merchant
from backend.wechat.keys import load_private_key, load_public_key, public_key_pem
from backend.wechat.sandbox.records import (
    Delivery,
    ExternalContactRecord,
    HttpResult,
    Notification,
    PayOrder,
    PushResult,
    RefundRecord,
    SandboxApp,
    SandboxCorp,
    SharingOrder,
    SharingReturn,
    TransferRecord,
    WireRequest,
)
from backend.wechat.v3crypto import SIGNATURE_TYPE, aead_encrypt, sign_lines

STALE_AGE_SECONDS = 600
Sender = Callable[[WireRequest], HttpResult]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _h(*parts: str) -> bytes:
    return hashlib.sha256(":".join(parts).encode()).digest()


def sandbox_openid(appid: str, user: str) -> str:
    """The openid the sandbox gives user key `user` (the wx.login code, e.g. "u1") in
    app `appid`: stable across runs and processes."""
    return "o" + _b64url(_h("openid", appid, user))[:27]


def sandbox_unionid(user: str, *, group: str = "default") -> str:
    """The unionid of a sandbox user (one open-platform group: all apps by default)."""
    return "o" + _b64url(_h("unionid", group, user))[:27]


def china_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, CHINA_TZ).isoformat(timespec="seconds")


def qr_png(content: str, *, width: int = 430, transparent: bool = False) -> bytes:
    """A real QR code image (PNG) encoding `content`, about `width` pixels wide."""
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(content)
    qr.make(fit=True)
    img = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGBA")
    side = max(280, min(int(width), 1280))
    img = img.resize((side, side), resample=0)
    if transparent:
        px = img.load()
        for y in range(side):
            for x in range(side):
                if px[x, y][0] > 128:
                    px[x, y] = (255, 255, 255, 0)
    else:
        img = img.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class MerchantKeys:
    """What WeChat Pay knows about a merchant."""

    mchid: str
    merchant_public_key: rsa.RSAPublicKey
    cert_serial_no: str
    apiv3_key: str
    platform_key: rsa.RSAPrivateKey
    public_key_id: str
    balance_fen: int = 10**10
    # Where PROFITSHARING.* notifications go (set in the merchant platform at WeChat);
    # None: the paid order's notify URL with /pay/notify/ → /pay/sharing-notify/.
    sharing_notify_url: str | None = None
    sharing_receivers: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (type, account)
    fund_flows: list[dict[str, Any]] = field(default_factory=list)  # every balance movement, for the bill


def flask_client_sender(client: Any) -> Sender:
    """Deliver into a Flask test client instead of over HTTP (URLs may be bare paths)."""
    def send(w: WireRequest) -> HttpResult:
        res = client.open(w.path, method=w.method, headers=dict(w.headers), data=w.body)
        return HttpResult(res.status_code, res.get_data(as_text=True))
    return send


def _default_sender(w: WireRequest) -> HttpResult:
    try:
        res = requests.request(w.method, w.url, data=w.body, headers=dict(w.headers), timeout=15)
        return HttpResult(res.status_code, res.text)
    except requests.RequestException as exc:
        return HttpResult(None, "", error=f"{type(exc).__name__}: {exc}")


class Sandbox:
    """State of the emulated WeChat services plus controls.

    auto_deliver: deliver each new pay notification at once (background thread, a few
      retries) instead of waiting for deliver()/deliver_pending().
    auto_settle: refunds succeed and transfers are confirmed by the payee immediately.
    strict_codes: a wx.login code works once (40163 afterwards), as in WeChat.
    """

    def __init__(self, *, auto_deliver: bool = False, auto_settle: bool = False,
                 strict_codes: bool = False, robot_limit_per_minute: int = 20,
                 clock: Callable[[], float] = time.time) -> None:
        self.auto_deliver = auto_deliver
        self.auto_settle = auto_settle
        self.strict_codes = strict_codes
        self.robot_limit_per_minute = robot_limit_per_minute
        self.clock = clock
        self.url = ""  # set by the server once it listens
        # Outage controls (the console's "微信故障"): every call to the emulated WeChat
        # hosts waits `delay_seconds` first; while `down`, each answers 503 (a system
        # error) — the console, /sandbox/…, keeps working, so an operator can end it.
        self.delay_seconds = 0.0
        self.down = False
        self.instance_id = secrets.token_hex(4)
        self._lock = threading.RLock()
        self.apps: dict[str, SandboxApp] = {}
        self.corps: dict[str, SandboxCorp] = {}
        self.merchants: dict[str, MerchantKeys] = {}
        self._tokens: dict[str, tuple[str, str, float]] = {}  # token -> (kind, id, expires)
        self._used_codes: set[tuple[str, str]] = set()
        self._openids: dict[str, tuple[str, str]] = {}  # openid -> (appid, user)
        self._unionid_groups: dict[str, str] = {}  # appid/corp_id -> unionid group
        # records
        self.subscribe_messages: list[dict[str, Any]] = []
        self.template_messages: list[dict[str, Any]] = []
        self.refused_subscriptions: set[tuple[str, str | None]] = set()
        self.wxa_codes: list[dict[str, Any]] = []
        self.live_rooms: dict[str, list[dict[str, Any]]] = {}  # appid -> getliveinfo room_info items
        self.oa_qrcodes: dict[str, dict[str, Any]] = {}  # ticket -> {appid, scene, ...}
        self.oa_followers: dict[tuple[str, str], dict[str, Any]] = {}  # (appid, openid)
        self.orders: dict[tuple[str, str], PayOrder] = {}  # (mchid, out_trade_no)
        self._prepay: dict[str, tuple[str, str]] = {}
        self.refunds: dict[tuple[str, str], RefundRecord] = {}
        self.transfers: dict[tuple[str, str], TransferRecord] = {}
        self.sharing_orders: dict[tuple[str, str], SharingOrder] = {}  # (mchid, out_order_no)
        self.sharing_returns: dict[tuple[str, str], SharingReturn] = {}  # (mchid, out_return_no)
        self.closed_receivers: set[str] = set()  # accounts whose shares close (a frozen account)
        self.notifications: list[Notification] = []
        self.deliveries: list[Delivery] = []
        self._delivered_ok: set[str] = set()
        self.contact_ways: dict[str, dict[str, Any]] = {}  # config_id -> info
        self.external_contacts: dict[str, ExternalContactRecord] = {}
        self.corp_tags: dict[str, dict[str, Any]] = {}  # tag_id -> {corp, group, name}
        self.tag_marks: list[dict[str, Any]] = []
        self.wecom_messages: list[dict[str, Any]] = []
        self.wecom_media: dict[str, bytes] = {}  # media_id -> uploaded file (3 days in WeCom)
        self.welcome_messages: list[dict[str, Any]] = []
        self._welcome_codes: dict[str, tuple[str, str, str, float]] = {}  # code -> corp, ext, staff, until
        self.robot_messages: list[dict[str, Any]] = []
        self._robot_times: dict[str, deque[float]] = {}
        # (method, path) of recent requests, for inspection
        self.requests_seen: deque[tuple[str, str]] = deque(maxlen=100_000)
        # The console's controls (backend/wechat/sandbox/console.py) by key, and where the
        # bot's in-memory puppet bridge listens ("" when no bot runs).
        self.controls: dict[str, Any] = {}
        self.bot_url = ""

    def add_control(self, control: Any) -> None:
        """Offer another control on the console (a console.Control), e.g. the hosting
        process's "run a job now"."""
        with self._lock:
            self.controls[control.key] = control

    # ------------------------------------------------------------------ identities

    def openid_for(self, appid: str, user: str) -> str:
        """The stable openid of sandbox user `user` in app `appid`."""
        openid = sandbox_openid(appid, user)
        with self._lock:
            self._openids[openid] = (appid, user)
        return openid

    def unionid_for(self, user: str, *, group: str = "default") -> str:
        """The stable unionid of a user (one open-platform group: all apps by default)."""
        return sandbox_unionid(user, group=group)

    def _unionid(self, app_or_corp: str, user: str) -> str:
        return self.unionid_for(user, group=self._unionid_groups.get(app_or_corp, "default"))

    def user_of(self, openid: str) -> tuple[str, str] | None:
        """(appid, user) of an openid the sandbox issued."""
        with self._lock:
            return self._openids.get(openid)

    def external_userid_for(self, corp_id: str, user: str) -> str:
        return "wm" + _b64url(_h("external", corp_id, user))[:30]

    def session_key_for(self, appid: str, user: str) -> str:
        return base64.b64encode(_h("session", appid, user)[:16]).decode()

    @staticmethod
    def phone_for_code(code: str) -> str | None:
        """getPhoneNumber codes: "p:13800138000" gives that number; any other code a
        stable derived one; codes starting with "invalid" are refused."""
        if not code or code.startswith("invalid"):
            return None
        if code.startswith("p:") and code[2:].isdigit():
            return code[2:]
        return "13" + str(int.from_bytes(_h("phone", code)[:8], "big") % 10**9).zfill(9)

    # ------------------------------------------------------------------ registration

    def register_tenant(self, creds: TenantWeChatCredentials, *, oa_push_url: str | None = None,
                        wecom_callback_url: str | None = None,
                        unionid_group: str | None = None) -> None:
        """Make the sandbox know a tenant's apps (secrets checked, push URLs)."""
        if creds.mini_program:
            self.register_mini_program(creds.mini_program, unionid_group=unionid_group)
        if creds.official_account:
            self.register_official_account(creds.official_account, push_url=oa_push_url,
                                           unionid_group=unionid_group)
        if creds.pay:
            self.register_merchant(creds.pay)
        if creds.wecom:
            self.register_wecom(creds.wecom, callback_url=wecom_callback_url,
                                unionid_group=unionid_group)

    def register_mini_program(self, creds: MiniProgramCredentials, *,
                              unionid_group: str | None = None) -> None:
        with self._lock:
            self.apps[creds.appid] = SandboxApp(appid=creds.appid, kind="mp", secret=creds.secret)
            if unionid_group:
                self._unionid_groups[creds.appid] = unionid_group

    def register_official_account(self, creds: OfficialAccountCredentials, *,
                                  push_url: str | None = None,
                                  unionid_group: str | None = None) -> None:
        with self._lock:
            self.apps[creds.appid] = SandboxApp(
                appid=creds.appid, kind="oa", secret=creds.secret, token=creds.token,
                encoding_aes_key=creds.encoding_aes_key,
                original_id=creds.original_id or "gh_" + hashlib.md5(creds.appid.encode())
                .hexdigest()[:12], push_url=push_url)
            if unionid_group:
                self._unionid_groups[creds.appid] = unionid_group

    def register_wecom(self, creds: WeComCredentials, *, callback_url: str | None = None,
                       unionid_group: str | None = None) -> None:
        with self._lock:
            self.corps[creds.corp_id] = SandboxCorp(
                corp_id=creds.corp_id, secret=creds.secret, agent_id=creds.agent_id,
                token=creds.token, encoding_aes_key=creds.encoding_aes_key,
                callback_url=callback_url)
            if unionid_group:
                self._unionid_groups[creds.corp_id] = unionid_group

    def register_merchant(self, creds: PayCredentials | None = None, *, mchid: str | None = None,
                          merchant_public_key_pem: str | None = None,
                          cert_serial_no: str | None = None,
                          apiv3_key: str | None = None) -> tuple[str, str]:
        """Teach the sandbox a merchant; returns (WeChat Pay public key PEM, its id).

        With PayCredentials derived by demo_credentials/sandbox_merchant nothing new is
        learnt (those are known anyway). For other keys pass mchid, the merchant's
        public key, serial and APIv3 key: the sandbox makes a platform key for it and
        returns the public half to put into the tenant's PayCredentials.
        """
        if creds is not None:
            keys = self.merchant(creds.mchid)
            if keys is None or keys.public_key_id != creds.public_key_id:
                raise ValueError("these pay credentials were not made by the sandbox: "
                                 "register mchid/merchant_public_key_pem/... instead")
            return public_key_pem(keys.platform_key), keys.public_key_id
        if not (mchid and merchant_public_key_pem and cert_serial_no and apiv3_key):
            raise ValueError("mchid, merchant_public_key_pem, cert_serial_no, apiv3_key needed")
        platform = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        keys = MerchantKeys(mchid=mchid, merchant_public_key=load_public_key(merchant_public_key_pem),
                            cert_serial_no=cert_serial_no, apiv3_key=apiv3_key,
                            platform_key=platform,
                            public_key_id="PUB_KEY_ID_" + secrets.token_hex(14).upper())
        with self._lock:
            self.merchants[mchid] = keys
        return public_key_pem(platform), keys.public_key_id

    def merchant(self, mchid: str) -> MerchantKeys | None:
        """A registered merchant, or the derived sandbox merchant for any mchid."""
        with self._lock:
            keys = self.merchants.get(mchid)
        if keys is not None:
            return keys
        if not mchid or len(mchid) > 32:
            return None
        m = sandbox_merchant(mchid)
        keys = MerchantKeys(mchid=mchid,
                            merchant_public_key=load_private_key(m.private_key_pem).public_key(),
                            cert_serial_no=m.cert_serial_no, apiv3_key=m.apiv3_key,
                            platform_key=load_private_key(m.platform_private_key_pem),
                            public_key_id=m.public_key_id)
        with self._lock:
            return self.merchants.setdefault(mchid, keys)

    def move(self, keys: MerchantKeys, delta_fen: int, business: str, ref: str | None) -> None:
        """A movement of the merchant's basic account, kept for the fund-flow bill
        (资金账单). Callers hold the lock."""
        keys.balance_fen += delta_fen
        keys.fund_flows.append({"time": china_time(self.clock()), "business": business, "ref": ref or "",
                                "delta_fen": delta_fen, "balance_fen": keys.balance_fen})

    def set_balance(self, mchid: str, balance_fen: int) -> None:
        keys = self.merchant(mchid)
        assert keys is not None
        keys.balance_fen = balance_fen

    # ------------------------------------------------------------------ access tokens

    def issue_token(self, kind: str, ident: str) -> tuple[str, int]:
        token = f"sbx{self.instance_id}_{secrets.token_urlsafe(40)}"
        with self._lock:
            self._tokens[token] = (kind, ident, self.clock() + 7200)
        return token, 7200

    def token_owner(self, token: str | None, kind: str) -> str | None:
        with self._lock:
            entry = self._tokens.get(token or "")
        if entry is None or entry[0] != kind or entry[2] < self.clock():
            return None
        return entry[1]

    def expire_tokens(self) -> None:
        """Invalidate every access token (clients must fetch new ones: 40001)."""
        with self._lock:
            self._tokens.clear()

    def check_secret(self, appid: str, secret: str, kind: str) -> int:
        """0 when the app's secret is right (unknown apps accept any secret), else errcode."""
        with self._lock:
            app = self.apps.get(appid)
        if not appid:
            return 40013
        if app is None:
            return 0
        return 0 if app.secret in (None, secret) else 40125

    def use_code(self, appid: str, code: str) -> int:
        if not code:
            return 41008
        if code.startswith("invalid") or len(code) > 128:
            return 40029
        with self._lock:
            if self.strict_codes and (appid, code) in self._used_codes:
                return 40163
            self._used_codes.add((appid, code))
        return 0

    # ------------------------------------------------------------------ records

    def clear_records(self) -> None:
        """Forget recorded messages, deliveries and request log (keeps apps and orders)."""
        with self._lock:
            for rec in (self.subscribe_messages, self.template_messages, self.wxa_codes,
                        self.tag_marks, self.wecom_messages, self.robot_messages,
                        self.welcome_messages,
                        self.deliveries, self.requests_seen):
                rec.clear()

    def add_live_room(self, appid: str, *, name: str, anchor_name: str = "主播", live_status: int = 102,
                      start_time: int | None = None, end_time: int | None = None,
                      cover_img: str = "https://mmbiz.qpic.cn/sandbox/live-cover.jpg") -> int:
        """A mini-program live room created in the WeChat back-office (小程序直播); returns its roomid."""
        with self._lock:
            rooms = self.live_rooms.setdefault(appid, [])
            start = int(start_time if start_time is not None else self.clock() + 3600)
            roomid = 100 + sum(len(r) for r in self.live_rooms.values())
            room = {"name": name, "roomid": roomid,
                    "cover_img": cover_img, "share_img": cover_img, "live_status": live_status,
                    "start_time": start, "end_time": int(end_time if end_time is not None else start + 7200),
                    "anchor_name": anchor_name, "goods": [], "live_type": 0, "close_like": 0, "close_goods": 0,
                    "close_comment": 0, "close_kf": 1, "close_replay": 0, "is_feeds_public": 1,
                    "creater_openid": "", "feeds_img": cover_img}
            rooms.append(room)
            return roomid

    def add_live_replay(self, appid: str, room_id: int, media_url: str) -> None:
        """An ended live room's replay video, as WeChat records it after the broadcast."""
        with self._lock:
            for room in self.live_rooms.get(appid, []):
                if room["roomid"] == room_id:
                    now = int(self.clock())
                    room.setdefault("_replays", []).append(
                        {"expire_time": now + 180 * 86400, "create_time": now, "media_url": media_url})

    def set_live_status(self, appid: str, room_id: int, live_status: int) -> None:
        """The anchor starts or ends a mini-program live room."""
        with self._lock:
            for room in self.live_rooms.get(appid, []):
                if room["roomid"] == room_id:
                    room["live_status"] = live_status

    def refuse_subscribe(self, openid: str, template_id: str | None = None) -> None:
        """Make subscribe messages to this user (for one template or all) fail with 43101."""
        with self._lock:
            self.refused_subscriptions.add((openid, template_id))

    def robot_allowed(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            q = self._robot_times.setdefault(key, deque())
            while q and q[0] <= now - 60:
                q.popleft()
            if len(q) >= self.robot_limit_per_minute:
                return False
            q.append(now)
            return True

    # ------------------------------------------------------------------ pay: signing

    def sign_response(self, keys: MerchantKeys, body: str) -> dict[str, str]:
        """Headers WeChat Pay puts on its answers and notifications."""
        ts, nonce = str(int(self.clock())), secrets.token_hex(16)
        return {"Wechatpay-Timestamp": ts, "Wechatpay-Nonce": nonce,
                "Wechatpay-Signature": sign_lines(keys.platform_key, ts, nonce, body),
                "Wechatpay-Serial": keys.public_key_id,
                "Wechatpay-Signature-Type": SIGNATURE_TYPE,
                "Request-ID": uuid.uuid4().hex.upper()}

    # ------------------------------------------------------------------ pay: events

    def _new_notification(self, keys: MerchantKeys, *, event_type: str, summary: str,
                          original_type: str, resource: Mapping[str, Any], url: str) -> Notification:
        plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
        notification_id = str(uuid.uuid4())
        body = json.dumps({
            "id": notification_id, "create_time": china_time(self.clock()),
            "resource_type": "encrypt-resource", "event_type": event_type, "summary": summary,
            "resource": {"original_type": original_type,
                         **aead_encrypt(keys.apiv3_key, plaintext, original_type)},
        }, ensure_ascii=False, separators=(",", ":"))
        kind = {"transaction": "transaction", "refund": "refund", "profitsharing": "sharing"}.get(
            original_type, "transfer")
        n = Notification(id=notification_id, mchid=keys.mchid, event_type=event_type, kind=kind,
                         url=url, resource=dict(resource), body=body)
        with self._lock:
            self.notifications.append(n)
        if self.auto_deliver:
            threading.Thread(target=self._auto_deliver, args=(n,), daemon=True).start()
        return n

    def _auto_deliver(self, n: Notification) -> None:
        for wait in (0, 1, 3, 10):
            time.sleep(wait)
            if self.deliver(n)[0].result.ok:
                return

    def craft_notification(self, *, mchid: str, event_type: str, resource: Mapping[str, Any],
                           url: str, summary: str = "", original_type: str | None = None
                           ) -> Notification:
        """A validly signed notification with any content (e.g. a wrong amount)."""
        keys = self.merchant(mchid)
        assert keys is not None
        head = event_type.split(".", 1)[0]
        otype = original_type or {"TRANSACTION": "transaction", "REFUND": "refund"}.get(
            head, "mch_payment")
        return self._new_notification(keys, event_type=event_type, summary=summary,
                                      original_type=otype, resource=resource, url=url)

    def transaction_resource(self, order: PayOrder) -> dict[str, Any]:
        r: dict[str, Any] = {
            "appid": order.appid, "mchid": order.mchid, "out_trade_no": order.out_trade_no,
            "trade_state": order.trade_state,
            "trade_state_desc": {"SUCCESS": "支付成功", "NOTPAY": "未支付", "CLOSED": "已关闭",
                                 "REFUND": "转入退款"}.get(order.trade_state, order.trade_state),
            "payer": {"openid": order.payer_openid},
            "amount": {"total": order.total_fen, "currency": "CNY"},
        }
        if order.attach:
            r["attach"] = order.attach
        if order.transaction_id:
            r.update(transaction_id=order.transaction_id, trade_type="JSAPI", bank_type="OTHERS",
                     success_time=order.success_time)
            r["amount"].update(payer_total=order.total_fen, payer_currency="CNY")
        return r

    def find_order(self, out_trade_no: str, mchid: str | None = None) -> PayOrder:
        with self._lock:
            matches = [o for (m, no), o in self.orders.items()
                       if no == out_trade_no and (mchid is None or m == mchid)]
        if len(matches) != 1:
            raise KeyError(f"no single sandbox order {out_trade_no!r}")
        return matches[0]

    def pay_order(self, out_trade_no: str, *, mchid: str | None = None,
                  paid_fen: int | None = None) -> Notification:
        """The payer completes payment: the order becomes SUCCESS and a
        TRANSACTION.SUCCESS notification is queued (delivered at once if auto_deliver).

        paid_fen makes the notification claim a different amount (validly signed),
        to test the product's amount check.
        """
        order = self.find_order(out_trade_no, mchid)
        keys = self.merchant(order.mchid)
        assert keys is not None
        with self._lock:
            if order.trade_state not in ("NOTPAY", "SUCCESS"):
                raise ValueError(f"order is {order.trade_state}")
            if order.trade_state == "NOTPAY":
                order.trade_state = "SUCCESS"
                order.transaction_id = "4200" + str(secrets.randbelow(10**24)).zfill(24)
                order.success_time = china_time(self.clock())
                self.move(keys, order.total_fen, "交易", order.transaction_id)
        resource = self.transaction_resource(order)
        if paid_fen is not None:
            resource["amount"].update(total=paid_fen, payer_total=paid_fen)
        return self._new_notification(keys, event_type="TRANSACTION.SUCCESS", summary="支付成功",
                                      original_type="transaction", resource=resource,
                                      url=order.notify_url)

    def request_payment(self, params: Mapping[str, str], *, appid: str) -> Notification:
        """What WeChat does on wx.requestPayment: check paySign with the merchant's key,
        then pay the order (see pay_order)."""
        package = params.get("package", "")
        prepay_id = package.removeprefix("prepay_id=")
        with self._lock:
            ref = self._prepay.get(prepay_id)
        if ref is None:
            raise ValueError("unknown prepay_id")
        order = self.orders[ref]
        keys = self.merchant(order.mchid)
        assert keys is not None
        from backend.wechat.v3crypto import verify_lines
        if params.get("signType") != "RSA" or order.appid != appid or not verify_lines(
                keys.merchant_public_key, params.get("paySign", ""), appid,
                params.get("timeStamp", ""), params.get("nonceStr", ""), package):
            raise ValueError("支付验证签名失败")
        return self.pay_order(order.out_trade_no, mchid=order.mchid)

    def refund_resource(self, r: RefundRecord) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mchid": r.mchid, "out_trade_no": r.out_trade_no, "transaction_id": r.transaction_id,
            "out_refund_no": r.out_refund_no, "refund_id": r.refund_id,
            "refund_status": r.status, "user_received_account": "支付用户零钱",
            "amount": {"total": r.total_fen, "refund": r.refund_fen, "payer_total": r.total_fen,
                       "payer_refund": r.refund_fen},
        }
        if r.success_time:
            out["success_time"] = r.success_time
        return out

    def complete_refund(self, out_refund_no: str, *, status: str = "SUCCESS",
                        mchid: str | None = None) -> Notification:
        """Finish a PROCESSING refund (SUCCESS, ABNORMAL or CLOSED) and queue REFUND.*."""
        with self._lock:
            matches = [r for (m, no), r in self.refunds.items()
                       if no == out_refund_no and (mchid is None or m == mchid)]
            if len(matches) != 1:
                raise KeyError(f"no single sandbox refund {out_refund_no!r}")
            r = matches[0]
            if r.status != "PROCESSING":
                raise ValueError(f"refund is {r.status}")
            r.status = status
            keys = self.merchant(r.mchid)
            assert keys is not None
            order = self.orders[(r.mchid, r.out_trade_no)]
            if status == "SUCCESS":
                r.success_time = china_time(self.clock())
                order.trade_state = "REFUND"
            else:  # the money did not go out: give it back to the order and merchant
                order.refunded_fen -= r.refund_fen
                self.move(keys, r.refund_fen, "退款", r.refund_id)
        summary = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}[status]
        return self._new_notification(keys, event_type=f"REFUND.{status}", summary=summary,
                                      original_type="refund", resource=self.refund_resource(r),
                                      url=r.notify_url)

    # ------------------------------------------------------------------ pay: profit sharing

    def sharing_answer(self, so: SharingOrder) -> dict[str, Any]:
        """The profit-sharing order as WeChat Pay answers and queries it."""
        return {"transaction_id": so.transaction_id, "out_order_no": so.out_order_no, "order_id": so.order_id,
                "state": so.state, "receivers": [dict(r) for r in so.receivers]}

    def unsplit_fen(self, order: PayOrder) -> int:
        """What of a profit-sharing payment may still be split: nothing once unfrozen."""
        if not order.profit_sharing or order.unfrozen:
            return 0
        return max(order.total_fen - order.refunded_fen - order.shared_fen, 0)

    def finish_sharing(self, out_order_no: str, *, mchid: str | None = None) -> list[Notification]:
        """WeChat Pay completes a PROCESSING split: each PENDING receiver SUCCESS (or
        CLOSED for accounts in `closed_receivers`, whose share goes back to the
        merchant), and one PROFITSHARING.* notification per receiver."""
        with self._lock:
            matches = [so for (m, no), so in self.sharing_orders.items()
                       if no == out_order_no and (mchid is None or m == mchid)]
            if len(matches) != 1:
                raise KeyError(f"no single sandbox sharing order {out_order_no!r}")
            so = matches[0]
            keys = self.merchant(so.mchid)
            assert keys is not None
            order = self.orders[(so.mchid, so.out_trade_no)]
            done = []
            for r in so.receivers:
                if r["result"] != "PENDING":
                    continue
                if r["account"] in self.closed_receivers:
                    r.update(result="CLOSED", fail_reason="ACCOUNT_ABNORMAL")
                    order.shared_fen -= r["amount"]
                    self.move(keys, r["amount"], "分账", r["detail_id"])
                else:
                    r["result"] = "SUCCESS"
                r["finish_time"] = china_time(self.clock())
                done.append(dict(r))
            so.state = "FINISHED"
        out = []
        for r in done:
            resource = {"mchid": so.mchid, "transaction_id": so.transaction_id, "order_id": so.order_id,
                        "out_order_no": so.out_order_no, "success_time": r["finish_time"],
                        "receiver": {"type": r["type"], "account": r["account"], "amount": r["amount"],
                                     "description": r["description"]}}
            status = "SUCCESS" if r["result"] == "SUCCESS" else "CLOSED"
            out.append(self._new_notification(keys, event_type=f"PROFITSHARING.{status}",
                                              summary="分账成功" if status == "SUCCESS" else "分账关闭",
                                              original_type="profitsharing", resource=resource,
                                              url=so.notify_url))
        return out

    def transfer_resource(self, t: TransferRecord) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mchid": t.mchid, "out_bill_no": t.out_bill_no, "transfer_bill_no": t.transfer_bill_no,
            "state": t.state, "transfer_amount": t.amount_fen, "openid": t.openid,
            "create_time": t.create_time, "update_time": t.update_time,
        }
        if t.fail_reason:
            out["fail_reason"] = t.fail_reason
        return out

    def _finish_transfer(self, out_bill_no: str, state: str, reason: str | None,
                         mchid: str | None) -> Notification:
        with self._lock:
            matches = [t for (m, no), t in self.transfers.items()
                       if no == out_bill_no and (mchid is None or m == mchid)]
            if len(matches) != 1:
                raise KeyError(f"no single sandbox transfer {out_bill_no!r}")
            t = matches[0]
            if t.state in ("SUCCESS", "FAIL", "CANCELLED"):
                raise ValueError(f"transfer is already {t.state}")
            keys = self.merchant(t.mchid)
            assert keys is not None
            t.state, t.fail_reason = state, reason
            t.update_time = china_time(self.clock())
            if state != "SUCCESS":
                self.move(keys, t.amount_fen, "商家转账", t.transfer_bill_no)
        return self._new_notification(keys, event_type="MCHTRANSFER.BILL.FINISHED",
                                      summary="商家转账单据终态通知", original_type="mch_payment",
                                      resource=self.transfer_resource(t), url=t.notify_url)

    def confirm_transfer(self, out_bill_no: str, *, mchid: str | None = None) -> Notification:
        """The payee confirms (wx.requestMerchantTransfer): SUCCESS + notification."""
        return self._finish_transfer(out_bill_no, "SUCCESS", None, mchid)

    def fail_transfer(self, out_bill_no: str, *, reason: str = "PAYEE_ACCOUNT_ABNORMAL",
                      mchid: str | None = None) -> Notification:
        """The transfer fails (money returns to the merchant): FAIL + notification."""
        return self._finish_transfer(out_bill_no, "FAIL", reason, mchid)

    def expire_transfer(self, out_bill_no: str, *, mchid: str | None = None) -> Notification:
        """The payee never confirmed: CANCELLED + notification."""
        return self._finish_transfer(out_bill_no, "CANCELLED", None, mchid)

    # ------------------------------------------------------------------ pay: delivery

    def build_notification_request(self, n: Notification, *, tamper: bool = False,
                                   forge_signature: bool = False, stale: bool = False,
                                   age_seconds: int | None = None,
                                   url: str | None = None) -> WireRequest:
        """The signed HTTP request for a notification, optionally spoiled:

        tamper: the body is changed after signing (signature no longer matches);
        forge_signature: signed with a key that is not WeChat Pay's;
        stale / age_seconds: correctly signed with an old timestamp (stale = 10 min).
        """
        keys = self.merchant(n.mchid)
        assert keys is not None
        body = n.body
        age = STALE_AGE_SECONDS if stale and age_seconds is None else (age_seconds or 0)
        ts, nonce = str(int(self.clock()) - age), secrets.token_hex(16)
        signer = _forger_key() if forge_signature else keys.platform_key
        signature = sign_lines(signer, ts, nonce, body)
        if tamper:
            data = json.loads(body)
            ct = data["resource"]["ciphertext"]
            data["resource"]["ciphertext"] = ("B" if ct[0] == "A" else "A") + ct[1:]
            body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        headers = {"Content-Type": "application/json", "Wechatpay-Timestamp": ts,
                   "Wechatpay-Nonce": nonce, "Wechatpay-Signature": signature,
                   "Wechatpay-Serial": keys.public_key_id,
                   "Wechatpay-Signature-Type": SIGNATURE_TYPE,
                   "Request-ID": uuid.uuid4().hex.upper(),
                   "User-Agent": "Mozilla/4.0 (siyu-wechat-sandbox)"}
        return WireRequest("POST", url or n.url, headers, body.encode())

    def deliver(self, n: Notification, *, times: int = 1, concurrency: int = 1,
                tamper: bool = False, forge_signature: bool = False, stale: bool = False,
                age_seconds: int | None = None, url: str | None = None,
                send: Sender | None = None) -> list[Delivery]:
        """Send a notification `times` times (`concurrency` at once); each send is
        signed afresh. `send` replaces HTTP (e.g. a Flask test client adapter)."""
        variant = ("forged" if forge_signature else "tampered" if tamper
                   else "stale" if (stale or (age_seconds or 0) > 300) else "ok")
        sender = send or _default_sender
        wires = [self.build_notification_request(n, tamper=tamper, forge_signature=forge_signature,
                                                 stale=stale, age_seconds=age_seconds, url=url)
                 for _ in range(times)]
        width = max(1, min(concurrency, times))
        barrier = threading.Barrier(width) if width > 1 else None

        def one(w: WireRequest) -> Delivery:
            if barrier is not None:
                try:
                    barrier.wait(timeout=10)  # release a whole wave at once
                except threading.BrokenBarrierError:
                    pass
            d = Delivery(notification_id=n.id, url=w.url, variant=variant, result=sender(w))
            with self._lock:
                self.deliveries.append(d)
                if d.result.ok and variant == "ok":
                    self._delivered_ok.add(n.id)
            return d

        if width == 1:
            return [one(w) for w in wires]
        if times % width:  # a partial last wave would wait for missing parties
            barrier = None
        with ThreadPoolExecutor(max_workers=width) as pool:
            return list(pool.map(one, wires))

    def pending_notifications(self) -> list[Notification]:
        """Notifications not yet answered with success."""
        with self._lock:
            return [n for n in self.notifications if n.id not in self._delivered_ok]

    def deliver_pending(self, *, order: str = "fifo", seed: int | None = None, times: int = 1,
                        concurrency: int = 1, send: Sender | None = None) -> list[Delivery]:
        """Deliver every pending notification `times` times, in `order`: fifo, reverse
        or shuffle (seeded). With concurrency > 1 all sends run interleaved."""
        pending = self.pending_notifications()
        batch = [n for n in pending for _ in range(times)]
        if order == "reverse":
            batch.reverse()
        elif order == "shuffle":
            random.Random(seed).shuffle(batch)
        elif order != "fifo":
            raise ValueError("order must be fifo, reverse or shuffle")
        if concurrency <= 1:
            return [d for n in batch for d in self.deliver(n, send=send)]
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return [d for ds in pool.map(lambda n: self.deliver(n, send=send), batch) for d in ds]

    # ------------------------------------------------------------------ official account

    def _oa(self, appid: str) -> SandboxApp:
        with self._lock:
            app = self.apps.get(appid)
        if app is None or app.kind != "oa" or not app.token:
            raise KeyError(f"official account {appid!r} is not registered with the sandbox")
        return app

    def build_oa_push(self, appid: str, fields: Mapping[str, Any], *, mode: str | None = None,
                      url: str | None = None) -> WireRequest:
        """A signed push as WeChat sends it: plain, or safe mode ("aes") encrypted."""
        app = self._oa(appid)
        target = url or app.push_url
        if not target:
            raise ValueError("no push URL: pass url= or register the OA with push_url")
        mode = mode or ("aes" if app.encoding_aes_key else "plain")
        xml = _to_xml(fields)
        ts, nonce = str(int(self.clock())), str(secrets.randbelow(10**10))
        signer = WeChatSigner()
        signer.add_data(app.token, ts, nonce)
        query: dict[str, str] = {"signature": signer.signature, "timestamp": ts, "nonce": nonce,
                                 "openid": str(fields.get("FromUserName", ""))}
        if mode == "aes":
            key = base64.b64decode(app.encoding_aes_key + "=")
            encrypt = PrpCrypto(key).encrypt(xml, app.appid).decode()
            msg_signer = WeChatSigner()
            msg_signer.add_data(app.token, ts, nonce, encrypt)
            query.update(encrypt_type="aes", msg_signature=msg_signer.signature)
            body = (f"<xml><ToUserName><![CDATA[{app.original_id}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
        elif mode == "plain":
            body = xml
        else:
            raise ValueError("mode must be plain or aes")
        from urllib.parse import urlencode
        sep = "&" if "?" in target else "?"
        return WireRequest("POST", f"{target}{sep}{urlencode(query)}",
                           {"Content-Type": "text/xml"}, body.encode())

    def _read_oa_reply(self, app: SandboxApp, w: WireRequest, res: HttpResult
                       ) -> Mapping[str, str] | None:
        text = (res.body or "").strip()
        if not res.ok or not text or text == "success":
            return None
        try:
            data = dict(xmltodict.parse(text)["xml"])
            if "Encrypt" in data:
                signer = WeChatSigner()
                signer.add_data(app.token, data.get("TimeStamp", ""), data.get("Nonce", ""),
                                data["Encrypt"])
                if signer.signature != data.get("MsgSignature"):
                    return {"_error": "reply signature mismatch"}
                key = base64.b64decode(app.encoding_aes_key + "=")
                data = dict(xmltodict.parse(PrpCrypto(key).decrypt(data["Encrypt"], app.appid))
                            ["xml"])
            return {k: str(v) for k, v in data.items()}
        except Exception as exc:  # the product answered something WeChat would reject
            return {"_error": f"unreadable reply: {exc}"}

    def push_oa(self, appid: str, fields: Mapping[str, Any], *, mode: str | None = None,
                url: str | None = None, send: Sender | None = None) -> PushResult:
        w = self.build_oa_push(appid, fields, mode=mode, url=url)
        res = (send or _default_sender)(w)
        return PushResult(request=w, result=res, reply=self._read_oa_reply(self._oa(appid), w, res))

    def _oa_fields(self, app: SandboxApp, user: str, msg_type: str, **extra: Any) -> dict[str, Any]:
        return {"ToUserName": app.original_id, "FromUserName": self.openid_for(app.appid, user),
                "CreateTime": int(self.clock()), "MsgType": msg_type, **extra}

    def oa_event(self, appid: str, user: str, event: str, *, event_key: str | None = None,
                 ticket: str | None = None, mode: str | None = None, url: str | None = None,
                 send: Sender | None = None) -> PushResult:
        """Push any event (subscribe, unsubscribe, SCAN, CLICK …) from a user."""
        app = self._oa(appid)
        extra: dict[str, Any] = {"Event": event}
        if event_key is not None:
            extra["EventKey"] = event_key
        if ticket:
            extra["Ticket"] = ticket
        openid = self.openid_for(appid, user)
        with self._lock:
            if event == "subscribe":
                self.oa_followers[(appid, openid)] = {
                    "user": user, "subscribe_time": int(self.clock()),
                    "qr_scene_str": (event_key or "").removeprefix("qrscene_") or None}
            elif event == "unsubscribe":
                self.oa_followers.pop((appid, openid), None)
        return self.push_oa(appid, self._oa_fields(app, user, "event", **extra), mode=mode,
                            url=url, send=send)

    def oa_text(self, appid: str, user: str, content: str, *, mode: str | None = None,
                url: str | None = None, send: Sender | None = None) -> PushResult:
        """A text message from a user to the official account."""
        app = self._oa(appid)
        fields = self._oa_fields(app, user, "text", Content=content,
                                 MsgId=str(secrets.randbelow(10**18)))
        return self.push_oa(appid, fields, mode=mode, url=url, send=send)

    def scan_oa_qrcode(self, ticket_or_scene: str, user: str, *, appid: str | None = None,
                       mode: str | None = None, url: str | None = None,
                       send: Sender | None = None) -> PushResult:
        """A user scans a parametric QR: subscribe with EventKey qrscene_<scene> when
        not following yet, else SCAN with EventKey <scene>."""
        with self._lock:
            qr = self.oa_qrcodes.get(ticket_or_scene)
            if qr is None:
                found = [(t, q) for t, q in self.oa_qrcodes.items()
                         if q["scene"] == ticket_or_scene and (appid is None or q["appid"] == appid)]
                if not found:
                    raise KeyError(f"no OA QR code for {ticket_or_scene!r}")
                ticket, qr = found[-1]
            else:
                ticket = ticket_or_scene
            following = (qr["appid"], self.openid_for(qr["appid"], user)) in self.oa_followers
        if following:
            return self.oa_event(qr["appid"], user, "SCAN", event_key=qr["scene"], ticket=ticket,
                                 mode=mode, url=url, send=send)
        return self.oa_event(qr["appid"], user, "subscribe", event_key="qrscene_" + qr["scene"],
                             ticket=ticket, mode=mode, url=url, send=send)

    def verify_oa_endpoint(self, appid: str, *, url: str | None = None,
                           send: Sender | None = None) -> bool:
        """WeChat's GET URL check: True when the endpoint echoes echostr."""
        app = self._oa(appid)
        target = url or app.push_url
        ts, nonce, echostr = str(int(self.clock())), str(secrets.randbelow(10**10)), \
            str(secrets.randbelow(10**18))
        signer = WeChatSigner()
        signer.add_data(app.token, ts, nonce)
        from urllib.parse import urlencode
        q = urlencode({"signature": signer.signature, "timestamp": ts, "nonce": nonce,
                       "echostr": echostr})
        sep = "&" if "?" in (target or "") else "?"
        res = (send or _default_sender)(WireRequest("GET", f"{target}{sep}{q}", {}, b""))
        return res.ok and res.body.strip() == echostr

    # ------------------------------------------------------------------ WeCom

    def wecom_add_customer(self, config_id: str, user: str, *, name: str | None = None,
                           url: str | None = None, send: Sender | None = None
                           ) -> tuple[str, PushResult | None]:
        """A user scans a staff member's contact-me QR and is added: the external
        contact (with the way's state) exists, and the encrypted change_external_contact
        callback goes to the corp's callback URL when one is known.
        Returns (external_userid, push result or None)."""
        with self._lock:
            way = self.contact_ways.get(config_id)
            if way is None:
                raise KeyError(f"no contact way {config_id!r}")
            corp_id, staff = way["corp_id"], way["user"][0]
            ext = self.external_userid_for(corp_id, user)
            rec = self.external_contacts.get(ext) or ExternalContactRecord(
                corp_id=corp_id, external_userid=ext, user=user, name=name or f"客户{user}",
                unionid=self._unionid(corp_id, user))
            rec.follow[staff] = {"userid": staff, "remark": "", "description": "",
                                 "createtime": int(self.clock()), "tags": [],
                                 "state": way.get("state") or "", "add_way": 1,
                                 "oper_userid": rec.external_userid}
            self.external_contacts[ext] = rec
            corp = self.corps.get(corp_id)
        target = url or (corp.callback_url if corp else None)
        if not target or corp is None:
            return ext, None
        welcome_code = secrets.token_urlsafe(24)
        with self._lock:  # WeCom accepts a welcome message for 20 seconds, once
            self._welcome_codes[welcome_code] = (corp_id, ext, staff, self.clock() + 20)
        fields = {"ToUserName": corp_id, "FromUserName": "sys", "CreateTime": int(self.clock()),
                  "MsgType": "event", "Event": "change_external_contact",
                  "ChangeType": "add_external_contact", "UserID": staff, "ExternalUserID": ext,
                  "State": way.get("state") or "", "WelcomeCode": welcome_code}
        w = self.build_wecom_callback(corp_id, fields, url=target)
        return ext, PushResult(request=w, result=(send or _default_sender)(w))

    def use_welcome_code(self, corp_id: str, code: str) -> tuple[str, str] | None:
        """(external_userid, staff userid) for a fresh welcome code, consuming it."""
        with self._lock:
            entry = self._welcome_codes.pop(code, None)
        if entry is None or entry[0] != corp_id or entry[3] < self.clock():
            return None
        return entry[1], entry[2]

    def build_wecom_callback(self, corp_id: str, fields: Mapping[str, Any], *,
                             url: str | None = None) -> WireRequest:
        """An encrypted WeCom callback (msg_signature over token, timestamp, nonce, Encrypt)."""
        with self._lock:
            corp = self.corps.get(corp_id)
        if corp is None or not corp.token or not corp.encoding_aes_key:
            raise KeyError(f"WeCom corp {corp_id!r} is not registered with token and AES key")
        target = url or corp.callback_url
        if not target:
            raise ValueError("no callback URL")
        key = base64.b64decode(corp.encoding_aes_key + "=")
        encrypt = PrpCrypto(key).encrypt(_to_xml(fields), corp_id).decode()
        ts, nonce = str(int(self.clock())), str(secrets.randbelow(10**10))
        signer = WeChatSigner()
        signer.add_data(corp.token, ts, nonce, encrypt)
        from urllib.parse import urlencode
        q = urlencode({"msg_signature": signer.signature, "timestamp": ts, "nonce": nonce})
        body = (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
                f"<AgentID><![CDATA[{corp.agent_id or ''}]]></AgentID>"
                f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
        sep = "&" if "?" in target else "?"
        return WireRequest("POST", f"{target}{sep}{q}", {"Content-Type": "text/xml"}, body.encode())

    # ------------------------------------------------------------------ misc

    def summary(self) -> dict[str, Any]:
        """Counts of everything recorded (for the /sandbox page and logs)."""
        with self._lock:
            return {"apps": len(self.apps), "merchants": len(self.merchants),
                    "orders": len(self.orders), "refunds": len(self.refunds),
                    "transfers": len(self.transfers), "notifications": len(self.notifications),
                    "deliveries": len(self.deliveries),
                    "subscribe_messages": len(self.subscribe_messages),
                    "wecom_messages": len(self.wecom_messages),
                    "robot_messages": len(self.robot_messages),
                    "contact_ways": len(self.contact_ways),
                    "external_contacts": len(self.external_contacts)}


def _to_xml(fields: Mapping[str, Any]) -> str:
    parts = []
    for k, v in fields.items():
        if isinstance(v, int) and not isinstance(v, bool):
            parts.append(f"<{k}>{v}</{k}>")
        else:
            parts.append(f"<{k}><![CDATA[{escape(str(v)) if ']]>' in str(v) else v}]]></{k}>")
    return "<xml>" + "".join(parts) + "</xml>"


_FORGER: list[rsa.RSAPrivateKey] = []


def _forger_key() -> rsa.RSAPrivateKey:
    if not _FORGER:
        _FORGER.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _FORGER[0]
