"""Official account (公众号): parametric QR codes, user info, and the push endpoint
helpers (URL check, signed/encrypted event parsing, replies) via wechatpy."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import create_reply
from wechatpy.utils import check_signature

from backend.wechat._wechatpy import AppClient, call
from backend.wechat.credentials import OfficialAccountCredentials
from backend.wechat.errors import PushBadSignature, PushMalformed, PushPlaintextRefused

QR_MAX_EXPIRE_SECONDS = 2592000  # 30 days, WeChat's maximum for temporary codes


@dataclass(frozen=True)
class OaQrCode:
    ticket: str
    url: str  # what the QR encodes (http://weixin.qq.com/q/…)
    image_url: str  # showqrcode URL of the image
    expire_seconds: int | None  # None: permanent code


@dataclass(frozen=True)
class OaUser:
    openid: str
    unionid: str | None
    subscribed: bool
    subscribe_scene: str | None = None
    qr_scene_str: str | None = None


class OfficialAccountApi:
    """One tenant's official account, through wechatpy (live or sandbox)."""

    def __init__(self, client: AppClient, credentials: OfficialAccountCredentials) -> None:
        self._client = client
        self.credentials = credentials

    def create_qrcode_with_scene(self, scene: str, *,
                                 expire_seconds: int | None = QR_MAX_EXPIRE_SECONDS) -> OaQrCode:
        """A parametric QR; scanning it pushes subscribe (qrscene_<scene>) or SCAN."""
        if not scene or len(scene) > 64:
            raise ValueError("scene must be 1..64 characters")
        body: dict[str, Any] = {"action_info": {"scene": {"scene_str": scene}}}
        if expire_seconds is None:
            body["action_name"] = "QR_LIMIT_STR_SCENE"
        else:
            body["action_name"] = "QR_STR_SCENE"
            body["expire_seconds"] = min(int(expire_seconds), QR_MAX_EXPIRE_SECONDS)
        res = call(self._client.qrcode.create, body)
        ticket = res["ticket"]
        return OaQrCode(ticket=ticket, url=res.get("url", ""),
                        image_url=f"{self._client.endpoints.mp}/cgi-bin/showqrcode?ticket="
                                  f"{quote(ticket)}",
                        expire_seconds=res.get("expire_seconds"))

    def get_user_info(self, openid: str) -> OaUser:
        """Follower info; unionid links an OA follower to the same person's member."""
        res = call(self._client.user.get, openid)
        return OaUser(openid=res.get("openid", openid), unionid=res.get("unionid") or None,
                      subscribed=bool(res.get("subscribe")),
                      subscribe_scene=res.get("subscribe_scene") or None,
                      qr_scene_str=res.get("qr_scene_str") or None)

    def get_users_info(self, openids: Sequence[str]) -> dict[str, OaUser]:
        """Followers' info by openid, up to 100 per call (WeChat's user/info/batchget):
        a batch of new followers costs one call, not one each."""
        out: dict[str, OaUser] = {}
        for start in range(0, len(openids), 100):
            for res in call(self._client.user.get_batch, list(openids[start:start + 100])):
                openid = res.get("openid", "")
                out[openid] = OaUser(openid=openid, unionid=res.get("unionid") or None,
                                     subscribed=bool(res.get("subscribe")),
                                     subscribe_scene=res.get("subscribe_scene") or None,
                                     qr_scene_str=res.get("qr_scene_str") or None)
        return out

    def send_template_message(self, *, openid: str, template_id: str, data: Mapping[str, Any],
                              url: str | None = None,
                              miniprogram: Mapping[str, str] | None = None) -> int:
        """Send a template message; returns its msgid."""
        payload = {k: (v if isinstance(v, Mapping) else {"value": str(v)}) for k, v in data.items()}
        res = call(self._client.message.send_template, openid, template_id, payload, url=url,
                   mini_program=dict(miniprogram) if miniprogram else None)
        return int(res.get("msgid", 0))


# --- the push endpoint (no network) ---------------------------------------------

@dataclass(frozen=True)
class OaPush:
    """One verified message/event pushed to the OA endpoint."""

    kind: str  # subscribe | scan | unsubscribe | text | event | message
    openid: str  # the follower (FromUserName)
    account: str  # the official account's gh_ id (ToUserName)
    create_time: int
    event: str | None = None  # lower-case Event for MsgType=event
    scene: str | None = None  # promoter scene of a QR subscribe/scan ("qrscene_" stripped)
    ticket: str | None = None
    content: str | None = None  # text messages
    msg_id: str | None = None
    encrypted: bool = False  # arrived in safe mode: replies must be encrypted too
    fields: Mapping[str, str] = field(default_factory=dict, compare=False)
    message: Any = field(default=None, compare=False, repr=False)  # wechatpy object


def _q(query: Mapping[str, Any], name: str) -> str:
    value = query.get(name, "")
    return value if isinstance(value, str) else str(value)


def _check_plain_signature(creds: OfficialAccountCredentials, query: Mapping[str, Any]) -> None:
    try:
        check_signature(creds.token, _q(query, "signature"), _q(query, "timestamp"),
                        _q(query, "nonce"))
    except InvalidSignatureException as exc:
        raise PushBadSignature() from exc


def verify_oa_url(creds: OfficialAccountCredentials, query: Mapping[str, Any]) -> str:
    """The GET URL check: returns echostr to answer, or raises PushBadSignature (403)."""
    _check_plain_signature(creds, query)
    return _q(query, "echostr")


def parse_oa_push(creds: OfficialAccountCredentials, *, query: Mapping[str, Any],
                  body: bytes | str) -> OaPush:
    """Verify and parse a POST push in plain or safe (AES) mode.

    Raises PushBadSignature (403) when a signature does not verify or a plaintext push
    reaches an account in safe mode (its AES key set, not in compatible mode: in
    plaintext the signature covers no body), PushMalformed (400) when the body is not
    WeChat's XML. Freshness and replays are push_guard's (it needs Redis).
    """
    _check_plain_signature(creds, query)
    encrypted = _q(query, "encrypt_type").lower() == "aes"
    if not encrypted and not creds.accepts_plaintext:
        raise PushPlaintextRefused()
    xml: bytes | str = body
    if encrypted:
        if not creds.encoding_aes_key:
            raise PushBadSignature("公众号未配置消息加解密密钥")
        crypto = WeChatCrypto(creds.token, creds.encoding_aes_key, creds.appid)
        try:
            xml = crypto.decrypt_message(body, _q(query, "msg_signature"), _q(query, "timestamp"),
                                         _q(query, "nonce"))
        except (InvalidSignatureException, InvalidAppIdException) as exc:
            raise PushBadSignature() from exc
        except Exception as exc:  # malformed XML, base64 or padding
            raise PushMalformed() from exc
    try:
        msg = parse_message(xml)
        raw = dict(msg._data)
        if any(v is not None and not isinstance(v, str) for v in raw.values()):
            raise ValueError("nested XML where WeChat sends text")
        openid, account = raw["FromUserName"], raw["ToUserName"]
        create_time = int(raw.get("CreateTime") or 0)
    except Exception as exc:
        raise PushMalformed() from exc
    msg_type = str(raw.get("MsgType", "")).lower()
    kind, event, scene, ticket = msg_type, None, None, raw.get("Ticket") or None
    if msg_type == "event":
        event = str(raw.get("Event", "")).lower()
        key = raw.get("EventKey") or None
        if event in ("subscribe", "subscribe_scan"):
            # wechatpy renames a QR subscribe to subscribe_scan and strips "qrscene_".
            kind, scene = "subscribe", (key if event == "subscribe_scan" else None)
            event = "subscribe"
        elif event == "scan":
            kind, scene = "scan", key
        elif event == "unsubscribe":
            kind = "unsubscribe"
        else:
            kind = "event"
    elif msg_type != "text":
        kind = "message"
    return OaPush(kind=kind, openid=openid, account=account, create_time=create_time,
                  event=event, scene=scene, ticket=ticket,
                  content=raw.get("Content") if msg_type == "text" else None,
                  msg_id=raw.get("MsgId"), encrypted=encrypted, fields=raw, message=msg)


def render_oa_reply(creds: OfficialAccountCredentials, push: OaPush, text: str | None, *,
                    now: int | None = None) -> str:
    """The HTTP body answering a push: a text reply (encrypted when the push was), or
    "success" when there is nothing to say."""
    if not text:
        return "success"
    xml = create_reply(text, push.message, render=True)
    if not push.encrypted:
        return xml
    crypto = WeChatCrypto(creds.token, creds.encoding_aes_key, creds.appid)
    return crypto.encrypt_message(xml, secrets.token_hex(8), str(now or int(time.time())))
