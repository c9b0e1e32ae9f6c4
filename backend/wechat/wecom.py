"""WeCom (企业微信) through wechatpy.enterprise: contact ways with `state` (staff
codes), external contacts, corp tags, app messages, group robots, and the
encrypted callback (customer added through a contact way)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from backend.wechat._wechatpy import RATE_LIMIT_CODES, CorpClient, call
from backend.wechat.credentials import WeComCredentials
from backend.wechat.errors import (
    PushBadSignature,
    PushMalformed,
    WeChatRateLimited,
    WeChatUnavailable,
    WeChatUpstreamError,
)
from backend.wechat.settings import Endpoints


@dataclass(frozen=True)
class ContactWay:
    config_id: str
    qr_code: str  # URL of the contact-me QR image
    state: str | None = None


@dataclass(frozen=True)
class FollowUser:
    """A staff member who has this external contact, and how they were added."""

    user_id: str
    state: str | None
    remark: str | None
    created_at: int
    tag_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExternalContact:
    external_userid: str
    name: str
    avatar: str | None
    unionid: str | None
    follow_users: tuple[FollowUser, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


class WeComApi:
    """One tenant's WeCom app, through wechatpy.enterprise (live or sandbox)."""

    def __init__(self, client: CorpClient, credentials: WeComCredentials) -> None:
        self._client = client
        self.credentials = credentials

    def add_contact_way(self, *, user_id: str, state: str, scene: int = 2,
                        remark: str | None = None, skip_verify: bool = True) -> ContactWay:
        """A personal "contact me" QR for a staff member; `state` (≤ 30 chars) comes back
        on the customer-added callback and in get_external_contact."""
        if not state or len(state) > 30:
            raise ValueError("state must be 1..30 characters")
        res = call(self._client.external_contact.add_contact_way, 1, scene, remark=remark,
                   skip_verify=skip_verify, state=state, user=[user_id])
        return ContactWay(config_id=res["config_id"], qr_code=res.get("qr_code", ""), state=state)

    def get_external_contact(self, external_userid: str) -> ExternalContact:
        res = call(self._client.external_contact.get, external_userid)
        ec = res.get("external_contact") or {}
        follows = tuple(
            FollowUser(user_id=f.get("userid", ""), state=f.get("state") or None,
                       remark=f.get("remark") or None, created_at=int(f.get("createtime") or 0),
                       tag_ids=tuple(t.get("tag_id", "") for t in f.get("tags") or ()))
            for f in res.get("follow_user") or ())
        return ExternalContact(external_userid=ec.get("external_userid", external_userid),
                               name=ec.get("name", ""), avatar=ec.get("avatar") or None,
                               unionid=ec.get("unionid") or None, follow_users=follows, raw=res)

    def add_corp_tags(self, *, group_name: str, names: Sequence[str]) -> dict[str, str]:
        """Create tags in a (new or existing) tag group; returns name → tag_id."""
        res = call(self._client.external_contact.add_corp_tag, None, group_name, None,
                   [{"name": n} for n in names])
        return {t["name"]: t["id"] for t in (res.get("tag_group") or {}).get("tag") or ()}

    def mark_tag(self, *, user_id: str, external_userid: str, add_tag_ids: Iterable[str] = (),
                 remove_tag_ids: Iterable[str] = ()) -> None:
        call(self._client.external_contact.mark_tag, user_id, external_userid,
             add_tag=list(add_tag_ids), remove_tag=list(remove_tag_ids))

    def send_welcome_message(self, *, welcome_code: str, text: str,
                             attachments: Sequence[Mapping[str, Any]] = ()) -> None:
        """Greet a customer just added (the callback's WelcomeCode, valid 20 s, once)."""
        payload: dict[str, Any] = {"welcome_code": welcome_code, "text": {"content": text}}
        if attachments:
            payload["attachments"] = [dict(a) for a in attachments]
        call(self._client.external_contact.send_welcome_msg, payload)

    def send_app_text(self, *, user_ids: Sequence[str], content: str) -> str:
        """A text message from the tenant's WeCom app to staff; returns msgid."""
        return self.send_app_message(user_ids=user_ids,
                                     msg={"msgtype": "text", "text": {"content": content}})

    def send_app_image(self, *, user_ids: Sequence[str], png: bytes, name: str = "image.png") -> str:
        """An image from the tenant's WeCom app: uploaded as temporary media, then sent."""
        res = call(self._client.media.upload, "image", (name, png, "image/png"))
        return self.send_app_message(user_ids=user_ids, msg={
            "msgtype": "image", "image": {"media_id": res["media_id"]}})

    def send_app_message(self, *, user_ids: Sequence[str], msg: Mapping[str, Any]) -> str:
        """Any app message (msg holds msgtype and its body)."""
        res = call(self._client.message.send, self.credentials.agent_id, list(user_ids),
                   msg=dict(msg))
        return str(res.get("msgid", ""))

    def send_robot(self, payload: Mapping[str, Any], *, webhook_key: str | None = None) -> None:
        """Post to the tenant's group robot (or another robot key)."""
        key = webhook_key or self.credentials.robot_webhook_key
        if not key:
            raise ValueError("no group robot webhook key configured")
        post_group_robot(self._client.endpoints, key, payload,
                         timeout=self._client.timeout or 10.0)


# --- group robots -------------------------------------------------------------------

def robot_text(content: str, *, mentioned_list: Sequence[str] = (),
               mentioned_mobile_list: Sequence[str] = ()) -> dict[str, Any]:
    text: dict[str, Any] = {"content": content}
    if mentioned_list:
        text["mentioned_list"] = list(mentioned_list)
    if mentioned_mobile_list:
        text["mentioned_mobile_list"] = list(mentioned_mobile_list)
    return {"msgtype": "text", "text": text}


def robot_markdown(content: str) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": content}}


def robot_image(image: bytes) -> dict[str, Any]:
    """An image message (≤ 2 MB JPG/PNG), e.g. a poster."""
    return {"msgtype": "image", "image": {"base64": base64.b64encode(image).decode(),
                                          "md5": hashlib.md5(image).hexdigest()}}


def post_group_robot(endpoints: Endpoints, webhook_key: str, payload: Mapping[str, Any], *,
                     timeout: float = 10.0) -> None:
    """POST a message to a group robot webhook (about 20 messages a minute each)."""
    try:
        res = requests.post(f"{endpoints.qyapi}/cgi-bin/webhook/send", params={"key": webhook_key},
                            json=dict(payload), timeout=timeout)
        res.raise_for_status()
        body = res.json()
    except (requests.RequestException, ValueError) as exc:
        raise WeChatUnavailable() from exc
    errcode = int(body.get("errcode", 0))
    if errcode:
        cls = WeChatRateLimited if errcode in RATE_LIMIT_CODES else WeChatUpstreamError
        raise cls(wechat_code=errcode, wechat_message=str(body.get("errmsg", "")))


# --- the callback endpoint (no network) ---------------------------------------------

@dataclass(frozen=True)
class WeComEvent:
    """A verified WeCom callback. For a customer added through a contact way:
    event="change_external_contact", change_type="add_external_contact"."""

    event: str | None
    change_type: str | None
    msg_type: str
    user_id: str | None  # staff member
    external_userid: str | None
    state: str | None  # the contact way's state (our staff code)
    welcome_code: str | None
    create_time: int
    fields: Mapping[str, Any] = field(default_factory=dict, compare=False)


def _q(query: Mapping[str, Any], name: str) -> str:
    value = query.get(name, "")
    return value if isinstance(value, str) else str(value)


def _crypto(creds: WeComCredentials) -> WeComCrypto:
    if not (creds.token and creds.encoding_aes_key):
        raise PushBadSignature("企业微信未配置回调Token或EncodingAESKey")
    return WeComCrypto(creds.token, creds.encoding_aes_key, creds.corp_id)


def verify_wecom_url(creds: WeComCredentials, query: Mapping[str, Any]) -> str:
    """The GET URL check: returns the decrypted echostr, or raises PushBadSignature."""
    try:
        return str(_crypto(creds).check_signature(_q(query, "msg_signature"), _q(query, "timestamp"),
                                                  _q(query, "nonce"), _q(query, "echostr")))
    except (InvalidSignatureException, InvalidCorpIdException) as exc:
        raise PushBadSignature() from exc
    except PushBadSignature:
        raise
    except Exception as exc:
        raise PushMalformed() from exc


def parse_wecom_callback(creds: WeComCredentials, *, query: Mapping[str, Any],
                         body: bytes | str) -> WeComEvent:
    """Verify, decrypt and read a POST callback (wechatpy 1.8.18 does not know the
    external-contact events, so the XML is read directly)."""
    try:
        xml = _crypto(creds).decrypt_message(body, _q(query, "msg_signature"),
                                             _q(query, "timestamp"), _q(query, "nonce"))
    except (InvalidSignatureException, InvalidCorpIdException) as exc:
        raise PushBadSignature() from exc
    except PushBadSignature:
        raise
    except Exception as exc:
        raise PushMalformed() from exc
    try:
        raw = dict(xmltodict.parse(xml)["xml"])
        if any(v is not None and not isinstance(v, str) for v in raw.values()):
            raise ValueError("nested XML where WeCom sends text")
        create_time = int(raw.get("CreateTime") or 0)
    except Exception as exc:
        raise PushMalformed() from exc
    g = lambda k: (str(raw[k]) if raw.get(k) not in (None, "") else None)  # noqa: E731
    return WeComEvent(event=(g("Event") or "").lower() or None,
                      change_type=(g("ChangeType") or "").lower() or None,
                      msg_type=(g("MsgType") or "").lower(), user_id=g("UserID"),
                      external_userid=g("ExternalUserID"), state=g("State"),
                      welcome_code=g("WelcomeCode"), create_time=create_time, fields=raw)
