"""Mini-program server APIs: login, mini-program codes, subscribe messages, phone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from backend.wechat._wechatpy import AppClient, call
from backend.wechat.errors import (
    InvalidLoginCode,
    InvalidPhoneCode,
    InvalidScene,
    SubscribeRefused,
    WeChatUpstreamError,
)

_LOGIN_ERRORS = {40029: InvalidLoginCode, 40163: InvalidLoginCode, 40226: InvalidLoginCode}
_CODE_ERRORS = {40169: InvalidScene, 41030: InvalidScene, 40097: InvalidScene}
_SUBSCRIBE_ERRORS = {43101: SubscribeRefused}
_PHONE_ERRORS = {40029: InvalidPhoneCode, 40013: InvalidPhoneCode}


@dataclass(frozen=True)
class WxSession:
    """What code2session returns. unionid is None when the app has no open platform."""

    openid: str
    unionid: str | None
    session_key: str = field(repr=False)


@dataclass(frozen=True)
class PhoneNumber:
    phone_number: str  # with country code for foreign numbers, e.g. "+1 2025550123"
    pure_phone_number: str  # without country code, e.g. "13800138000"
    country_code: str  # e.g. "86"


@dataclass(frozen=True)
class LiveRoomInfo:
    """One mini-program live room (小程序直播) as getliveinfo describes it."""

    room_id: int
    name: str
    cover_img: str
    anchor_name: str
    live_status: int  # 101 live, 102 upcoming, 103 ended, 104 banned, 105 paused, 106 abnormal, 107 expired
    start_time: int  # unix seconds
    end_time: int


class MiniProgramApi:
    """One tenant's mini-program, through wechatpy (live or sandbox)."""

    def __init__(self, client: AppClient) -> None:
        self._client = client

    @property
    def appid(self) -> str:
        return str(self._client.appid)

    def code_to_session(self, js_code: str) -> WxSession:
        """Exchange a wx.login code; raises InvalidLoginCode for a bad/used code."""
        if not js_code or not isinstance(js_code, str):
            raise InvalidLoginCode(wechat_code=40029, wechat_message="empty code")
        res = call(self._client.wxa.code_to_session, js_code, mapping=_LOGIN_ERRORS)
        return WxSession(openid=res["openid"], unionid=res.get("unionid") or None,
                         session_key=res.get("session_key", ""))

    def get_unlimited_code(self, *, scene: str, page: str | None = None, width: int = 430,
                           check_path: bool = False, env_version: str = "release",
                           is_hyaline: bool = False) -> bytes:
        """A mini-program code image (getwxacodeunlimit) carrying `scene` (≤ 32 chars)."""
        data: dict[str, Any] = {"scene": scene, "width": width, "check_path": check_path,
                                "env_version": env_version, "is_hyaline": is_hyaline}
        if page:
            data["page"] = page
        res = call(self._client.wxa._post, "wxa/getwxacodeunlimit", data=data,
                   mapping=_CODE_ERRORS)
        content = getattr(res, "content", None)
        if not isinstance(content, bytes) or not content:
            raise WeChatUpstreamError(wechat_message="getwxacodeunlimit returned no image")
        return content

    def send_subscribe_message(self, *, openid: str, template_id: str,
                               data: Mapping[str, Any], page: str | None = None,
                               miniprogram_state: str | None = None, lang: str = "zh_CN") -> None:
        """Send a subscribe message; values may be plain strings ({"thing1": "…"})."""
        payload: dict[str, Any] = {
            "touser": openid, "template_id": template_id, "lang": lang,
            "data": {k: (v if isinstance(v, Mapping) else {"value": str(v)})
                     for k, v in data.items()},
        }
        if page:
            payload["page"] = page
        if miniprogram_state:
            payload["miniprogram_state"] = miniprogram_state
        call(self._client.post, "message/subscribe/send", data=payload, mapping=_SUBSCRIBE_ERRORS)

    def get_live_rooms(self, *, start: int = 0, limit: int = 100) -> tuple[list[LiveRoomInfo], int]:
        """One page of the mini-program's live rooms (wxa/business/getliveinfo) and the
        total; WeChat answers errcode 1 when the account has created none."""
        try:
            res = call(self._client.post, "wxa/business/getliveinfo", data={"start": start, "limit": limit},
                       api_base_url=f"{self._client.endpoints.api}/")
        except WeChatUpstreamError as exc:
            if exc.wechat_code == 1:
                return [], 0
            raise
        rooms = [LiveRoomInfo(room_id=int(r["roomid"]), name=str(r.get("name", "")),
                              cover_img=str(r.get("cover_img", "")), anchor_name=str(r.get("anchor_name", "")),
                              live_status=int(r.get("live_status", 102)), start_time=int(r.get("start_time", 0)),
                              end_time=int(r.get("end_time", 0))) for r in res.get("room_info") or []]
        return rooms, int(res.get("total", len(rooms)))

    def get_live_replay_urls(self, *, room_id: int) -> list[str]:
        """The replay videos of an ended mini-program live room (getliveinfo with
        action get_replay), newest last; [] when it has none (errcode 1)."""
        try:
            res = call(self._client.post, "wxa/business/getliveinfo",
                       data={"action": "get_replay", "room_id": room_id, "start": 0, "limit": 100},
                       api_base_url=f"{self._client.endpoints.api}/")
        except WeChatUpstreamError as exc:
            if exc.wechat_code == 1:
                return []
            raise
        return [str(r["media_url"]) for r in res.get("live_replay") or [] if r.get("media_url")]

    def get_phone_number(self, code: str) -> PhoneNumber:
        """The phone number behind a getPhoneNumber button code."""
        res = call(self._client.post, "wxa/business/getuserphonenumber", data={"code": code},
                   api_base_url=f"{self._client.endpoints.api}/", mapping=_PHONE_ERRORS)
        info = res.get("phone_info") or {}
        return PhoneNumber(phone_number=str(info.get("phoneNumber", "")),
                           pure_phone_number=str(info.get("purePhoneNumber", "")),
                           country_code=str(info.get("countryCode", "")))
