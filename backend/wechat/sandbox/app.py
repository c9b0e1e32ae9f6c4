"""The sandbox's HTTP face: WeChat's endpoints under /api, /mp, /qyapi, /mch (one
prefix per real host) and a small JSON control API under /sandbox."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeGuard

from flask import Flask, Response, jsonify, request

from backend.wechat.credentials import TenantWeChatCredentials
from backend.wechat.sandbox.console import install_console
from backend.wechat.sandbox.core import MerchantKeys, Sandbox, china_time, qr_png
from backend.wechat.sandbox.records import PayOrder, RefundRecord, SharingOrder, SharingReturn, TransferRecord
from backend.wechat.v3crypto import parse_authorization, rsa_oaep_decrypt, verify_lines

_SCENE_RE = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")
_OUT_NO_RE = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
_BILL_NO_RE = re.compile(r"^[0-9A-Za-z]{5,32}$")


AUTO_CONFIRM_DELAY_SECONDS = 0.5  # auto_settle: how long the "payee" takes to confirm a transfer


def _confirm_later(sb: Sandbox, out_bill_no: str, mchid: str) -> None:
    """auto_settle's payee confirming a transfer, after the merchant got its answer."""
    try:
        sb.confirm_transfer(out_bill_no, mchid=mchid)
    except Exception:  # noqa: BLE001 — confirmed or failed meanwhile by a control: nothing to do
        pass


def _err(errcode: int, errmsg: str, status: int = 200) -> Response:
    # WeChat answers business errors with HTTP 200 and an errcode.
    res = jsonify({"errcode": errcode, "errmsg": f"{errmsg} rid: {secrets.token_hex(6)}"})
    res.status_code = status
    return res


def _ok(**payload: Any) -> Response:
    return jsonify({"errcode": 0, "errmsg": "ok", **payload})


def _positive_fen(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _json() -> dict[str, Any] | None:
    try:
        data = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def create_sandbox_app(sb: Sandbox) -> Flask:
    """A Flask app (its own, not the product's) serving the sandbox `sb`."""
    app = Flask("siyu_wechat_sandbox")
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    @app.before_request
    def _log() -> Response | None:
        with sb._lock:
            sb.requests_seen.append((request.method, request.path))
        if request.path.startswith("/sandbox"):
            return None  # the console and its controls never suffer the outage they control
        if sb.delay_seconds > 0:
            time.sleep(sb.delay_seconds)
        if sb.down:
            return _err(-1, "system error (sandbox: WeChat is down)", 503)
        return None

    @app.errorhandler(Exception)
    def _crash(exc: Exception) -> Response:  # the sandbox must never answer a bare 500 page
        from werkzeug.exceptions import HTTPException
        if isinstance(exc, HTTPException):
            return _err(-1, exc.description or exc.name, exc.code or 500)
        app.logger.exception("sandbox error")
        return _err(-1, f"system error: {type(exc).__name__}: {exc}", 500)

    def token_of(kind: str) -> tuple[str | None, Response | None]:
        token = request.args.get("access_token")
        if not token:
            return None, _err(41001, "access_token missing")
        owner = sb.token_owner(token, kind)
        if owner is None:
            return None, _err(40001, "invalid credential, access_token is invalid or not latest")
        return owner, None

    def app_api(fn: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(fn)
        def inner(*a: Any, **kw: Any) -> Response:
            appid, error = token_of("app")
            return error if error is not None else fn(appid, *a, **kw)
        return inner

    def corp_api(fn: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(fn)
        def inner(*a: Any, **kw: Any) -> Response:
            corp_id, error = token_of("corp")
            return error if error is not None else fn(corp_id, *a, **kw)
        return inner

    # ------------------------------------------------------------ api.weixin.qq.com

    @app.get("/api/cgi-bin/token")
    def token() -> Response:
        if request.args.get("grant_type") != "client_credential":
            return _err(40002, "invalid grant_type")
        appid = request.args.get("appid", "")
        code = sb.check_secret(appid, request.args.get("secret", ""), "app")
        if code:
            return _err(code, "invalid appid" if code == 40013 else "invalid appsecret")
        tok, expires = sb.issue_token("app", appid)
        return jsonify({"access_token": tok, "expires_in": expires})

    @app.get("/api/sns/jscode2session")
    def jscode2session() -> Response:
        appid, code = request.args.get("appid", ""), request.args.get("js_code", "")
        if request.args.get("grant_type") != "authorization_code":
            return _err(40002, "invalid grant_type")
        err = sb.check_secret(appid, request.args.get("secret", ""), "app")
        if err:
            return _err(err, "invalid appid" if err == 40013 else "invalid appsecret")
        err = sb.use_code(appid, code)
        if err:
            return _err(err, {41008: "missing code", 40029: "invalid code",
                              40163: "code been used"}[err])
        user = code.split(":", 1)[0]
        return jsonify({"openid": sb.openid_for(appid, user), "session_key":
                        sb.session_key_for(appid, user), "unionid": sb._unionid(appid, user)})

    @app.post("/api/wxa/getwxacodeunlimit")
    @app_api
    def getwxacodeunlimit(appid: str) -> Response:
        data = _json()
        if data is None:
            return _err(47001, "data format error")
        scene = data.get("scene")
        if not isinstance(scene, str) or not _SCENE_RE.match(scene):
            return _err(40169, "invalid length for scene, or the data is not json string")
        page = data.get("page")
        if page is not None and (not isinstance(page, str) or page.startswith("/")
                                 or (page and not re.match(r"^[\w\-/]+$", page))):
            return _err(41030, "invalid page")
        width = data.get("width", 430)
        if not isinstance(width, int) or isinstance(width, bool):
            return _err(40097, "invalid args")
        png = qr_png(scene, width=width, transparent=bool(data.get("is_hyaline")))
        with sb._lock:
            sb.wxa_codes.append({"appid": appid, "scene": scene, "page": page, "width": width,
                                 "env_version": data.get("env_version", "release")})
        return Response(png, content_type="image/png")

    @app.post("/api/cgi-bin/message/subscribe/send")
    @app_api
    def subscribe_send(appid: str) -> Response:
        data = _json()
        if data is None:
            return _err(47001, "data format error")
        touser, tid, payload = data.get("touser"), data.get("template_id"), data.get("data")
        if not touser or not isinstance(touser, str):
            return _err(40003, "invalid openid")
        if not tid or not isinstance(tid, str):
            return _err(40037, "invalid template_id")
        if not isinstance(payload, dict) or not payload or not all(
                isinstance(v, dict) and isinstance(v.get("value"), str) for v in payload.values()):
            return _err(47003, "argument invalid! data.value invalid")
        owner = sb.user_of(touser)
        if owner is not None and owner[0] != appid:
            return _err(40003, "invalid openid")
        with sb._lock:
            if (touser, None) in sb.refused_subscriptions or \
                    (touser, tid) in sb.refused_subscriptions:
                return _err(43101, "user refuse to accept the msg")
            sb.subscribe_messages.append({
                "appid": appid, "touser": touser, "user": owner[1] if owner else None,
                "template_id": tid, "page": data.get("page"), "data": payload,
                "miniprogram_state": data.get("miniprogram_state", "formal"),
                "lang": data.get("lang", "zh_CN"), "at": sb.clock()})
        return _ok(msgid=secrets.randbelow(10**12))

    @app.post("/api/wxa/business/getliveinfo")
    @app_api
    def getliveinfo(appid: str) -> Response:
        data = _json()
        if data is None:
            return _err(47001, "data format error")
        start, limit = data.get("start", 0), data.get("limit", 10)
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (start, limit)) \
                or limit > 100:
            return _err(300001, "invalid start or limit")
        with sb._lock:
            rooms = [{k: v for k, v in r.items() if k != "_replays"} for r in sb.live_rooms.get(appid, [])]
            replays = {r["roomid"]: list(r.get("_replays", [])) for r in sb.live_rooms.get(appid, [])}
        if data.get("action") == "get_replay":
            room_id = data.get("room_id")
            if room_id not in replays:
                return _err(300004, "room not exist")
            if not replays[room_id]:
                return _err(1, "no replay")
            return _ok(live_replay=replays[room_id][start:start + limit], total=len(replays[room_id]))
        if not rooms:
            return _err(1, "no room")  # what WeChat answers an account without live rooms
        return _ok(room_info=rooms[start:start + limit], total=len(rooms))

    @app.post("/api/wxa/business/getuserphonenumber")
    @app_api
    def getuserphonenumber(appid: str) -> Response:
        data = _json() or {}
        phone = sb.phone_for_code(str(data.get("code") or ""))
        if phone is None:
            return _err(40029, "invalid code")
        return _ok(phone_info={"phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86",
                               "watermark": {"timestamp": int(sb.clock()), "appid": appid}})

    @app.post("/api/cgi-bin/qrcode/create")
    @app_api
    def qrcode_create(appid: str) -> Response:
        data = _json()
        if data is None:
            return _err(47001, "data format error")
        action = data.get("action_name")
        scene_obj = (data.get("action_info") or {}).get("scene") or {}
        if action in ("QR_STR_SCENE", "QR_LIMIT_STR_SCENE"):
            scene = scene_obj.get("scene_str")
            if not isinstance(scene, str) or not 1 <= len(scene) <= 64:
                return _err(40097, "invalid args: scene_str")
        elif action in ("QR_SCENE", "QR_LIMIT_SCENE"):
            scene_id = scene_obj.get("scene_id")
            if not isinstance(scene_id, int) or scene_id <= 0:
                return _err(40097, "invalid args: scene_id")
            scene = str(scene_id)
        else:
            return _err(40097, "invalid action_name")
        ticket = "gQ" + base64.b64encode(secrets.token_bytes(60)).decode()
        url = "http://weixin.qq.com/q/" + secrets.token_urlsafe(18)
        out: dict[str, Any] = {"ticket": ticket, "url": url}
        expire = None
        if "LIMIT" not in action:
            expire = min(int(data.get("expire_seconds") or 60), 2592000)
            out["expire_seconds"] = expire
        with sb._lock:
            sb.oa_qrcodes[ticket] = {"appid": appid, "scene": scene, "url": url,
                                     "expire_seconds": expire, "created_at": sb.clock()}
        return jsonify(out)

    @app.get("/mp/cgi-bin/showqrcode")
    def showqrcode() -> Response:
        with sb._lock:
            qr = sb.oa_qrcodes.get(request.args.get("ticket", ""))
        if qr is None:
            return Response(b"", status=404)
        return Response(qr_png(qr["url"]), content_type="image/png")

    def oa_user(appid: str, openid: str) -> dict[str, Any] | None:
        owner = sb.user_of(openid)
        if owner is None or owner[0] != appid:
            return None
        with sb._lock:
            f = sb.oa_followers.get((appid, openid))
        unionid = sb._unionid(appid, owner[1])
        if f is None:
            return {"subscribe": 0, "openid": openid, "unionid": unionid}
        return {"subscribe": 1, "openid": openid, "unionid": unionid, "language": "zh_CN",
                "subscribe_time": f["subscribe_time"], "remark": "", "groupid": 0,
                "tagid_list": [],
                "subscribe_scene": "ADD_SCENE_QR_CODE" if f["qr_scene_str"]
                else "ADD_SCENE_SEARCH", "qr_scene": 0,
                "qr_scene_str": f["qr_scene_str"] or ""}

    @app.get("/api/cgi-bin/user/info")
    @app_api
    def user_info(appid: str) -> Response:
        user = oa_user(appid, request.args.get("openid", ""))
        return _err(40003, "invalid openid") if user is None else jsonify(user)

    @app.post("/api/cgi-bin/user/info/batchget")
    @app_api
    def user_info_batch(appid: str) -> Response:
        data = _json()
        wanted = (data or {}).get("user_list")
        if not isinstance(wanted, list) or not 1 <= len(wanted) <= 100:
            return _err(40003, "user_list must hold 1..100 openids")
        users = []
        for item in wanted:
            user = oa_user(appid, str((item or {}).get("openid", "")) if isinstance(item, dict) else "")
            if user is None:
                return _err(40003, "invalid openid")
            users.append(user)
        return jsonify({"user_info_list": users})

    @app.post("/api/cgi-bin/message/template/send")
    @app_api
    def template_send(appid: str) -> Response:
        data = _json()
        if data is None or not data.get("touser") or not data.get("template_id"):
            return _err(40003, "invalid openid or template_id")
        with sb._lock:
            sb.template_messages.append({"appid": appid, **data, "at": sb.clock()})
        return _ok(msgid=secrets.randbelow(10**12))

    # ------------------------------------------------------------ qyapi.weixin.qq.com

    @app.get("/qyapi/cgi-bin/gettoken")
    def gettoken() -> Response:
        corp_id, secret = request.args.get("corpid", ""), request.args.get("corpsecret", "")
        if not corp_id:
            return _err(40013, "invalid corpid")
        with sb._lock:
            corp = sb.corps.get(corp_id)
        if corp is not None and corp.secret not in (None, secret):
            return _err(40001, "invalid secret")
        tok, expires = sb.issue_token("corp", corp_id)
        return _ok(access_token=tok, expires_in=expires)

    @app.post("/qyapi/cgi-bin/externalcontact/add_contact_way")
    @corp_api
    def add_contact_way(corp_id: str) -> Response:
        data = _json()
        if data is None:
            return _err(47001, "data format error")
        users, state = data.get("user") or [], data.get("state")
        if data.get("type") not in (1, 2) or data.get("scene") not in (1, 2):
            return _err(40097, "invalid args: type/scene")
        if not isinstance(users, list) or not users or (data["type"] == 1 and len(users) != 1):
            return _err(40098, "invalid user: type 1 needs exactly one user")
        if state is not None and (not isinstance(state, str) or len(state) > 30):
            return _err(40058, "invalid state: at most 30 characters")
        config_id = secrets.token_hex(16)
        qr = f"{request.host_url}qyapi/_sandbox/contact-way/{config_id}.png"
        with sb._lock:
            sb.contact_ways[config_id] = {
                "corp_id": corp_id, "config_id": config_id, "type": data["type"],
                "scene": data["scene"], "style": data.get("style"), "remark": data.get("remark"),
                "skip_verify": data.get("skip_verify", True), "state": state, "user": users,
                "party": data.get("party") or [], "qr_code": qr}
        return _ok(config_id=config_id, qr_code=qr)

    @app.get("/qyapi/_sandbox/contact-way/<config_id>.png")
    def contact_way_png(config_id: str) -> Response:
        with sb._lock:
            way = sb.contact_ways.get(config_id)
        if way is None:
            return Response(b"", status=404)
        return Response(qr_png(f"https://work.weixin.qq.com/ca/{config_id}"),
                        content_type="image/png")

    @app.post("/qyapi/cgi-bin/externalcontact/get_contact_way")
    @corp_api
    def get_contact_way(corp_id: str) -> Response:
        data = _json() or {}
        with sb._lock:
            way = sb.contact_ways.get(str(data.get("config_id", "")))
        if way is None or way["corp_id"] != corp_id:
            return _err(41044, "invalid config_id")
        return _ok(contact_way={k: v for k, v in way.items() if k != "corp_id"})

    @app.get("/qyapi/cgi-bin/externalcontact/get")
    @corp_api
    def external_get(corp_id: str) -> Response:
        with sb._lock:
            rec = sb.external_contacts.get(request.args.get("external_userid", ""))
            if rec is None or rec.corp_id != corp_id:
                return _err(84061, "not external contact")
            ext = {"external_userid": rec.external_userid, "name": rec.name, "type": 1,
                   "avatar": f"https://wework.qpic.cn/sandbox/{rec.external_userid}/0",
                   "gender": 0, "unionid": rec.unionid}
            follow = [dict(f) for f in rec.follow.values()]
        return _ok(external_contact=ext, follow_user=follow)

    @app.post("/qyapi/cgi-bin/externalcontact/add_corp_tag")
    @corp_api
    def add_corp_tag(corp_id: str) -> Response:
        data = _json() or {}
        tags = data.get("tag") or []
        if not isinstance(tags, list) or not tags or not all(
                isinstance(t, dict) and isinstance(t.get("name"), str) and t["name"] for t in tags):
            return _err(40097, "invalid args: tag")
        with sb._lock:
            groups = {v["group_id"]: v["group_name"] for v in sb.corp_tags.values()
                      if v["corp_id"] == corp_id}
            group_id = data.get("group_id")
            if group_id:
                if group_id not in groups:
                    return _err(40068, "invalid tagid")
                group_name = groups[group_id]
            else:
                group_name = str(data.get("group_name") or "")
                if not group_name:
                    return _err(40097, "invalid args: group_name")
                group_id = next((g for g, n in groups.items() if n == group_name),
                                "et" + secrets.token_hex(14))
            existing = {v["name"] for v in sb.corp_tags.values() if v["group_id"] == group_id}
            if any(t["name"] in existing for t in tags):
                return _err(40071, "tag name exists")
            now = int(sb.clock())
            created = []
            for t in tags:
                tag_id = "et" + secrets.token_hex(14)
                sb.corp_tags[tag_id] = {"corp_id": corp_id, "group_id": group_id,
                                        "group_name": group_name, "name": t["name"]}
                created.append({"id": tag_id, "name": t["name"], "create_time": now,
                                "order": t.get("order", 0)})
        return _ok(tag_group={"group_id": group_id, "group_name": group_name, "create_time": now,
                              "order": data.get("order", 0), "tag": created})

    @app.post("/qyapi/cgi-bin/externalcontact/get_corp_tag_list")
    @corp_api
    def get_corp_tag_list(corp_id: str) -> Response:
        groups: dict[str, dict[str, Any]] = {}
        with sb._lock:
            for tag_id, v in sb.corp_tags.items():
                if v["corp_id"] != corp_id:
                    continue
                g = groups.setdefault(v["group_id"], {"group_id": v["group_id"],
                                                      "group_name": v["group_name"], "tag": []})
                g["tag"].append({"id": tag_id, "name": v["name"]})
        return _ok(tag_group=list(groups.values()))

    @app.post("/qyapi/cgi-bin/externalcontact/mark_tag")
    @corp_api
    def mark_tag(corp_id: str) -> Response:
        data = _json() or {}
        userid, ext_id = data.get("userid"), data.get("external_userid")
        add, remove = data.get("add_tag") or [], data.get("remove_tag") or []
        with sb._lock:
            rec = sb.external_contacts.get(str(ext_id or ""))
            if rec is None or rec.corp_id != corp_id or userid not in rec.follow:
                return _err(84061, "not external contact")
            for tag_id in [*add, *remove]:
                tag = sb.corp_tags.get(tag_id)
                if tag is None or tag["corp_id"] != corp_id:
                    return _err(40068, "invalid tagid")
            follow = rec.follow[userid]
            current = {t["tag_id"]: t for t in follow["tags"]}
            for tag_id in add:
                t = sb.corp_tags[tag_id]
                current[tag_id] = {"group_name": t["group_name"], "tag_name": t["name"],
                                   "tag_id": tag_id, "type": 1}
            for tag_id in remove:
                current.pop(tag_id, None)
            follow["tags"] = list(current.values())
            sb.tag_marks.append({"corp_id": corp_id, "userid": userid, "external_userid": ext_id,
                                 "add_tag": list(add), "remove_tag": list(remove)})
        return _ok()

    @app.post("/qyapi/cgi-bin/externalcontact/send_welcome_msg")
    @corp_api
    def send_welcome_msg(corp_id: str) -> Response:
        data = _json() or {}
        text = data.get("text") or {}
        attachments = data.get("attachments") or []
        if not (isinstance(text, dict) and text.get("content")) and not attachments:
            return _err(41008, "empty welcome message")
        who = sb.use_welcome_code(corp_id, str(data.get("welcome_code") or ""))
        if who is None:
            return _err(41051, "invalid welcome_code: unknown, used or older than 20 seconds")
        with sb._lock:
            sb.welcome_messages.append({"corp_id": corp_id, "external_userid": who[0],
                                        "userid": who[1], "text": text.get("content"),
                                        "attachments": attachments, "at": sb.clock()})
        return _ok()

    @app.post("/qyapi/cgi-bin/media/upload")
    @corp_api
    def media_upload(corp_id: str) -> Response:
        # Temporary media, as WeCom: multipart field "media"; images are JPG/PNG ≤ 10 MB.
        kind = request.args.get("type", "")
        if kind not in ("image", "file", "voice", "video"):
            return _err(40004, "invalid media type")
        upload = request.files.get("media")
        if upload is None:
            return _err(41001, "missing media")
        data = upload.read()
        if not data:
            return _err(44001, "empty media data")
        if kind == "image" and (len(data) > 10 * 1024 * 1024
                                or not (data.startswith(b"\x89PNG") or data.startswith(b"\xff\xd8"))):
            return _err(40005, "invalid image: JPG or PNG up to 10 MB")
        media_id = "sb_media_" + secrets.token_urlsafe(18)
        with sb._lock:
            sb.wecom_media[media_id] = data
        return _ok(type=kind, media_id=media_id, created_at=str(int(sb.clock())))

    @app.post("/qyapi/cgi-bin/message/send")
    @corp_api
    def message_send(corp_id: str) -> Response:
        data = _json()
        if data is None:
            return _err(47001, "data format error")
        with sb._lock:
            corp = sb.corps.get(corp_id)
        if corp is not None and corp.agent_id is not None and data.get("agentid") != corp.agent_id:
            return _err(40056, "invalid agentid")
        msgtype = data.get("msgtype")
        if not msgtype or not isinstance(data.get(msgtype), dict):
            return _err(41008, "missing msgtype or message body")
        if not (data.get("touser") or data.get("toparty") or data.get("totag")):
            return _err(40031, "invalid user list")
        media_id = data[msgtype].get("media_id")
        if msgtype in ("image", "file", "voice", "video") and media_id not in sb.wecom_media:
            return _err(40007, "invalid media_id")
        msgid = secrets.token_urlsafe(24)
        with sb._lock:
            sb.wecom_messages.append({"corp_id": corp_id, "agentid": data.get("agentid"),
                                      "touser": [u for u in str(data.get("touser") or "")
                                                 .split("|") if u],
                                      "msgtype": msgtype, "body": data[msgtype], "msgid": msgid,
                                      "at": sb.clock()})
        return _ok(invaliduser="", invalidparty="", invalidtag="", msgid=msgid)

    @app.post("/qyapi/cgi-bin/webhook/send")
    def webhook_send() -> Response:
        key = request.args.get("key", "")
        if not key:
            return _err(93000, "invalid webhook url")
        data = _json()
        if data is None:
            return _err(40035, "invalid parameter: body is not json")
        msgtype = data.get("msgtype")
        body = data.get(msgtype) if isinstance(msgtype, str) else None
        if msgtype not in ("text", "markdown", "image", "news", "file", "template_card") \
                or not isinstance(body, dict):
            return _err(40008, "invalid message type")
        if msgtype in ("text", "markdown"):
            content = body.get("content")
            limit = 2048 if msgtype == "text" else 4096
            if not isinstance(content, str) or not content or len(content.encode()) > limit:
                return _err(44004, "empty content or content too long")
        if msgtype == "image":
            try:
                raw = base64.b64decode(str(body.get("base64", "")), validate=True)
            except ValueError:
                return _err(40009, "invalid image base64")
            if hashlib.md5(raw).hexdigest() != body.get("md5") or len(raw) > 2 * 1024 * 1024:
                return _err(301019, "image md5 mismatch or image too large")
        if not sb.robot_allowed(key):
            return _err(45009, "api freq out of limit")
        with sb._lock:
            sb.robot_messages.append({"key": key, "msgtype": msgtype, "body": body,
                                      "at": sb.clock()})
        return _ok()

    # ------------------------------------------------------------ api.mch.weixin.qq.com

    def pay_reply(keys: MerchantKeys | None, status: int, payload: dict[str, Any] | None
                  ) -> Response:
        text = "" if payload is None else json.dumps(payload, ensure_ascii=False)
        headers = sb.sign_response(keys, text) if keys is not None else {}
        res = Response(text, status=status, headers=headers)
        if payload is not None:
            res.headers["Content-Type"] = "application/json; charset=utf-8"
        return res

    def pay_error(keys: MerchantKeys | None, status: int, code: str, message: str) -> Response:
        return pay_reply(keys, status, {"code": code, "message": message})

    def pay_api(fn: Callable[..., Response]) -> Callable[..., Response]:
        """Check the merchant's request signature as WeChat Pay does."""
        @wraps(fn)
        def inner(*a: Any, **kw: Any) -> Response:
            auth = parse_authorization(request.headers.get("Authorization", ""))
            if auth is None:
                return pay_error(None, 401, "SIGN_ERROR", "Authorization 头缺失或格式错误")
            keys = sb.merchant(auth.mchid)
            if keys is None:
                return pay_error(None, 400, "MCH_NOT_EXISTS", "商户号不存在")
            if auth.serial_no != keys.cert_serial_no:
                return pay_error(keys, 401, "SIGN_ERROR", "商户证书序列号有误")
            try:
                skew = abs(sb.clock() - int(auth.timestamp))
            except ValueError:
                skew = 10**9
            if skew > 300:
                return pay_error(keys, 401, "SIGN_ERROR", "请求时间戳与当前时间相差过大")
            raw_uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") \
                or request.full_path.rstrip("?")
            url = raw_uri[len("/mch"):] if raw_uri.startswith("/mch") else raw_uri
            body = request.get_data(as_text=True)
            if not verify_lines(keys.merchant_public_key, auth.signature, request.method, url,
                                auth.timestamp, auth.nonce_str, body):
                return pay_error(keys, 401, "SIGN_ERROR", "签名错误")
            serial = request.headers.get("Wechatpay-Serial")
            if serial and serial != keys.public_key_id:
                return pay_error(keys, 400, "PARAM_ERROR", "Wechatpay-Serial 与微信支付公钥ID不一致")
            data: dict[str, Any] = {}
            if body:
                try:
                    parsed = json.loads(body)
                except ValueError:
                    return pay_error(keys, 400, "PARAM_ERROR", "请求体不是合法的JSON")
                if not isinstance(parsed, dict):
                    return pay_error(keys, 400, "PARAM_ERROR", "请求体必须是JSON对象")
                data = parsed
            return fn(keys, data, *a, **kw)
        return inner

    @app.post("/mch/v3/pay/transactions/jsapi")
    @pay_api
    def jsapi(keys: MerchantKeys, data: dict[str, Any]) -> Response:
        amount, payer = data.get("amount") or {}, data.get("payer") or {}
        total = amount.get("total") if isinstance(amount, dict) else None
        missing = [k for k in ("appid", "mchid", "description", "out_trade_no", "notify_url")
                   if not isinstance(data.get(k), str) or not data.get(k)]
        if missing:
            return pay_error(keys, 400, "PARAM_ERROR", f"缺少参数 {', '.join(missing)}")
        if data["mchid"] != keys.mchid:
            return pay_error(keys, 400, "INVALID_REQUEST", "请求体mchid与请求头不一致")
        if not isinstance(total, int) or isinstance(total, bool) or total < 1:
            return pay_error(keys, 400, "PARAM_ERROR", "amount.total 必须是正整数（分）")
        if not _OUT_NO_RE.match(data["out_trade_no"]):
            return pay_error(keys, 400, "PARAM_ERROR", "out_trade_no 格式错误")
        if len(data["description"]) > 127:
            return pay_error(keys, 400, "PARAM_ERROR", "description 过长")
        openid = payer.get("openid") if isinstance(payer, dict) else None
        if not isinstance(openid, str) or not openid:
            return pay_error(keys, 400, "PARAM_ERROR", "缺少参数 payer.openid")
        owner = sb.user_of(openid)
        if owner is not None and owner[0] != data["appid"]:
            return pay_error(keys, 400, "PARAM_ERROR", "openid和appid不匹配")
        if not data["notify_url"].startswith(("http://", "https://")):
            return pay_error(keys, 400, "PARAM_ERROR", "notify_url 格式错误")
        key = (keys.mchid, data["out_trade_no"])
        with sb._lock:
            order = sb.orders.get(key)
            if order is not None:
                if order.trade_state == "SUCCESS" or order.trade_state == "REFUND":
                    return pay_error(keys, 403, "ORDERPAID", "该订单已支付")
                if order.trade_state == "CLOSED":
                    return pay_error(keys, 400, "ORDER_CLOSED", "订单已关闭")
                same = (order.total_fen, order.description, order.payer_openid, order.appid) == \
                    (total, data["description"], openid, data["appid"])
                if not same:
                    return pay_error(keys, 403, "OUT_TRADE_NO_USED", "商户订单号重复")
                return pay_reply(keys, 200, {"prepay_id": order.prepay_id})
            prepay_id = "wx" + time.strftime("%d%H%M%S") + secrets.token_hex(12)
            raw_settle = data.get("settle_info")
            settle = raw_settle if isinstance(raw_settle, dict) else {}
            sb.orders[key] = PayOrder(
                mchid=keys.mchid, appid=data["appid"], out_trade_no=data["out_trade_no"],
                description=data["description"], total_fen=total, payer_openid=openid,
                notify_url=data["notify_url"], attach=data.get("attach"), prepay_id=prepay_id,
                request_body=data, created_at=sb.clock(), profit_sharing=settle.get("profit_sharing") is True)
            sb._prepay[prepay_id] = key
        return pay_reply(keys, 200, {"prepay_id": prepay_id})

    def _order_reply(keys: MerchantKeys, order: PayOrder | None) -> Response:
        if order is None:
            return pay_error(keys, 404, "ORDER_NOT_EXIST", "订单不存在")
        return pay_reply(keys, 200, sb.transaction_resource(order))

    @app.get("/mch/v3/pay/transactions/out-trade-no/<out_trade_no>")
    @pay_api
    def query_by_out_trade_no(keys: MerchantKeys, data: dict[str, Any],
                              out_trade_no: str) -> Response:
        if request.args.get("mchid") != keys.mchid:
            return pay_error(keys, 400, "PARAM_ERROR", "mchid 参数错误")
        with sb._lock:
            order = sb.orders.get((keys.mchid, out_trade_no))
        return _order_reply(keys, order)

    @app.get("/mch/v3/pay/transactions/id/<transaction_id>")
    @pay_api
    def query_by_id(keys: MerchantKeys, data: dict[str, Any], transaction_id: str) -> Response:
        with sb._lock:
            order = next((o for (m, _), o in sb.orders.items()
                          if m == keys.mchid and o.transaction_id == transaction_id), None)
        return _order_reply(keys, order)

    @app.post("/mch/v3/pay/transactions/out-trade-no/<out_trade_no>/close")
    @pay_api
    def close(keys: MerchantKeys, data: dict[str, Any], out_trade_no: str) -> Response:
        with sb._lock:
            order = sb.orders.get((keys.mchid, out_trade_no))
            if order is None:
                return pay_error(keys, 404, "ORDER_NOT_EXIST", "订单不存在")
            if order.trade_state in ("SUCCESS", "REFUND"):
                return pay_error(keys, 400, "ORDERPAID", "订单已支付，不能关闭")
            order.trade_state = "CLOSED"
        return pay_reply(keys, 204, None)

    @app.post("/mch/v3/refund/domestic/refunds")
    @pay_api
    def refund(keys: MerchantKeys, data: dict[str, Any]) -> Response:
        amount = data.get("amount") or {}
        out_refund_no = data.get("out_refund_no")
        if not isinstance(out_refund_no, str) or not _OUT_NO_RE.match(out_refund_no):
            return pay_error(keys, 400, "PARAM_ERROR", "out_refund_no 格式错误")
        refund_fen, total_fen = amount.get("refund"), amount.get("total")
        if not (_positive_fen(refund_fen) and _positive_fen(total_fen)):
            return pay_error(keys, 400, "PARAM_ERROR", "amount.refund/total 必须是正整数（分）")
        with sb._lock:
            if data.get("transaction_id"):
                order = next((o for (m, _), o in sb.orders.items()
                              if m == keys.mchid and o.transaction_id == data["transaction_id"]),
                             None)
            else:
                order = sb.orders.get((keys.mchid, str(data.get("out_trade_no") or "")))
            if order is None:
                return pay_error(keys, 404, "RESOURCE_NOT_EXISTS", "订单不存在")
            existing = sb.refunds.get((keys.mchid, out_refund_no))
            if existing is not None:
                if (existing.out_trade_no, existing.refund_fen) != (order.out_trade_no, refund_fen):
                    return pay_error(keys, 400, "INVALID_REQUEST", "退款单号重复，参数与原请求不一致")
                return pay_reply(keys, 200, _refund_answer(sb.refund_resource(existing), existing))
            if order.trade_state not in ("SUCCESS", "REFUND") or order.transaction_id is None:
                return pay_error(keys, 400, "INVALID_REQUEST", "订单未支付，不能退款")
            if total_fen != order.total_fen:
                return pay_error(keys, 400, "INVALID_REQUEST", "订单金额与原订单不一致")
            if order.refunded_fen + refund_fen > order.total_fen:
                return pay_error(keys, 400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            if order.refunded_fen + refund_fen > order.total_fen - order.shared_fen:
                return pay_error(keys, 400, "NOT_ENOUGH", "订单已分账，可退金额不足，请先分账回退")
            if keys.balance_fen < refund_fen:
                return pay_error(keys, 403, "NOT_ENOUGH", "基本账户余额不足")
            order.refunded_fen += refund_fen
            refund_id = "50" + secrets.token_hex(14)
            sb.move(keys, -refund_fen, "退款", refund_id)
            r = RefundRecord(
                mchid=keys.mchid, out_refund_no=out_refund_no,
                refund_id=refund_id, out_trade_no=order.out_trade_no,
                transaction_id=order.transaction_id, refund_fen=refund_fen, total_fen=total_fen,
                notify_url=str(data.get("notify_url") or order.notify_url),
                reason=data.get("reason"), created_at=china_time(sb.clock()))
            sb.refunds[(keys.mchid, out_refund_no)] = r
            answer = _refund_answer(sb.refund_resource(r), r)
        if sb.auto_settle:
            sb.complete_refund(out_refund_no, mchid=keys.mchid)
        return pay_reply(keys, 200, answer)

    def _refund_answer(resource: dict[str, Any], r: RefundRecord) -> dict[str, Any]:
        out = dict(resource)
        out["status"] = out.pop("refund_status")
        out.update(channel="ORIGINAL", create_time=r.created_at, funds_account="AVAILABLE")
        out["amount"] = {**out["amount"], "settlement_refund": r.refund_fen,
                         "settlement_total": r.total_fen, "discount_refund": 0,
                         "currency": "CNY", "refund_fee": 0}
        return out

    @app.get("/mch/v3/refund/domestic/refunds/<out_refund_no>")
    @pay_api
    def query_refund(keys: MerchantKeys, data: dict[str, Any], out_refund_no: str) -> Response:
        with sb._lock:
            r = sb.refunds.get((keys.mchid, out_refund_no))
            if r is None:
                return pay_error(keys, 404, "RESOURCE_NOT_EXISTS", "退款单不存在")
            answer = _refund_answer(sb.refund_resource(r), r)
        return pay_reply(keys, 200, answer)

    @app.post("/mch/v3/fund-app/mch-transfer/transfer-bills")
    @pay_api
    def transfer_bills(keys: MerchantKeys, data: dict[str, Any]) -> Response:
        missing = [k for k in ("appid", "out_bill_no", "transfer_scene_id", "openid",
                               "transfer_remark") if not isinstance(data.get(k), str) or not data[k]]
        if missing:
            return pay_error(keys, 400, "PARAM_ERROR", f"缺少参数 {', '.join(missing)}")
        amount = data.get("transfer_amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 10:
            return pay_error(keys, 400, "PARAM_ERROR", "transfer_amount 必须是不少于10的整数（分）")
        if not _BILL_NO_RE.match(data["out_bill_no"]):
            return pay_error(keys, 400, "PARAM_ERROR", "out_bill_no 只能由数字和字母组成")
        if len(data["transfer_remark"]) > 32:
            return pay_error(keys, 400, "PARAM_ERROR", "transfer_remark 最多32个字符")
        infos = data.get("transfer_scene_report_infos") or []
        if not isinstance(infos, list) or not infos:
            return pay_error(keys, 400, "PARAM_ERROR", "缺少转账场景报备信息")
        user_name = None
        if data.get("user_name"):
            try:
                user_name = rsa_oaep_decrypt(keys.platform_key, str(data["user_name"]))
            except Exception:
                return pay_error(keys, 400, "PARAM_ERROR", "user_name 解密失败，请用微信支付公钥加密")
        if amount >= 200000 and not user_name:
            return pay_error(keys, 400, "PARAM_ERROR", "转账金额≥2000元时必须填写收款用户姓名")
        owner = sb.user_of(data["openid"])
        if owner is not None and owner[0] != data["appid"]:
            return pay_error(keys, 400, "PARAM_ERROR", "openid和appid不匹配")
        key = (keys.mchid, data["out_bill_no"])
        with sb._lock:
            existing = sb.transfers.get(key)
            if existing is not None:
                if (existing.openid, existing.amount_fen) != (data["openid"], amount):
                    return pay_error(keys, 400, "INVALID_REQUEST", "商户单号重复，参数与原单据不一致")
                t = existing
            else:
                if keys.balance_fen < amount:
                    return pay_error(keys, 403, "NOT_ENOUGH", "商户运营账户资金不足")
                sb.move(keys, -amount, "商家转账", data["out_bill_no"])
                now = china_time(sb.clock())
                t = TransferRecord(
                    mchid=keys.mchid, appid=data["appid"], out_bill_no=data["out_bill_no"],
                    transfer_bill_no="1330" + secrets.token_hex(18)[:36],
                    openid=data["openid"], amount_fen=amount, remark=data["transfer_remark"],
                    scene_id=data["transfer_scene_id"], user_name=user_name,
                    notify_url=str(data.get("notify_url") or ""), request_body=data,
                    create_time=now, update_time=now,
                    package_info=base64.b64encode(secrets.token_bytes(48)).decode())
                sb.transfers[key] = t
            answer = {"out_bill_no": t.out_bill_no, "transfer_bill_no": t.transfer_bill_no,
                      "create_time": t.create_time, "state": t.state}
            if t.state == "WAIT_USER_CONFIRM":
                answer["package_info"] = t.package_info
        # auto_settle: the payee confirms at once. A repeated request of a transfer still
        # waiting (the merchant's first call timed out) confirms it too, as a payee who
        # opens the confirmation later would; a finished one is left as it is.
        if sb.auto_settle and t.notify_url and t.state not in ("SUCCESS", "FAIL", "CANCELLED"):
            # The payee confirms a moment later, as in WeChat (after this answer reached
            # the merchant), not while the merchant's call is still in flight.
            timer = threading.Timer(AUTO_CONFIRM_DELAY_SECONDS, _confirm_later, args=(sb, t.out_bill_no, keys.mchid))
            timer.daemon = True
            timer.start()
        return pay_reply(keys, 200, answer)

    @app.get("/mch/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/<out_bill_no>")
    @pay_api
    def transfer_query(keys: MerchantKeys, data: dict[str, Any], out_bill_no: str) -> Response:
        with sb._lock:
            t = sb.transfers.get((keys.mchid, out_bill_no))
            if t is None:
                return pay_error(keys, 404, "NOT_FOUND", "转账单据不存在")
            answer = {**sb.transfer_resource(t), "mch_id": t.mchid, "appid": t.appid,
                      "transfer_remark": t.remark}
            answer.pop("mchid")
            if t.user_name:
                answer["user_name"] = "加密字段"
        return pay_reply(keys, 200, answer)

    @app.post("/mch/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/<out_bill_no>/cancel")
    @pay_api
    def transfer_cancel(keys: MerchantKeys, data: dict[str, Any], out_bill_no: str) -> Response:
        with sb._lock:
            t = sb.transfers.get((keys.mchid, out_bill_no))
            if t is None:
                return pay_error(keys, 404, "NOT_FOUND", "转账单据不存在")
            if t.state not in ("ACCEPTED", "PROCESSING", "WAIT_USER_CONFIRM", "TRANSFERING"):
                return pay_error(keys, 400, "INVALID_REQUEST", f"单据状态为{t.state}，不能撤销")
            t.state = "CANCELING"
            t.update_time = china_time(sb.clock())
            answer = {"out_bill_no": t.out_bill_no, "transfer_bill_no": t.transfer_bill_no,
                      "state": "CANCELING", "update_time": t.update_time}
        sb._finish_transfer(out_bill_no, "CANCELLED", None, keys.mchid)
        return pay_reply(keys, 200, answer)

    # ------------------------------------------------------------ profit sharing (分账)

    @app.post("/mch/v3/profitsharing/receivers/add")
    @pay_api
    def sharing_add_receiver(keys: MerchantKeys, data: dict[str, Any]) -> Response:
        kind, account = data.get("type"), data.get("account")
        if kind not in ("MERCHANT_ID", "PERSONAL_OPENID") or not isinstance(account, str) or not account:
            return pay_error(keys, 400, "PARAM_ERROR", "接收方类型或账号错误")
        if kind == "MERCHANT_ID" and not account.isdigit():
            return pay_error(keys, 400, "PARAM_ERROR", "商户号格式错误")
        if not isinstance(data.get("relation_type"), str) or not data.get("appid"):
            return pay_error(keys, 400, "PARAM_ERROR", "缺少参数 relation_type/appid")
        with sb._lock:
            keys.sharing_receivers[(kind, account)] = {"type": kind, "account": account,
                                                       "relation_type": data["relation_type"]}
        return pay_reply(keys, 200, {"type": kind, "account": account, "relation_type": data["relation_type"]})

    @app.post("/mch/v3/profitsharing/orders")
    @pay_api
    def sharing_order(keys: MerchantKeys, data: dict[str, Any]) -> Response:
        out_order_no, transaction_id = data.get("out_order_no"), data.get("transaction_id")
        receivers = data.get("receivers")
        if not isinstance(out_order_no, str) or not _BILL_NO_RE.match(out_order_no) or not transaction_id:
            return pay_error(keys, 400, "PARAM_ERROR", "out_order_no/transaction_id 错误")
        if not isinstance(receivers, list) or not 1 <= len(receivers) <= 50:
            return pay_error(keys, 400, "PARAM_ERROR", "分账接收方须为 1–50 个")
        for r in receivers:
            amount = r.get("amount") if isinstance(r, dict) else None
            if not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
                return pay_error(keys, 400, "PARAM_ERROR", "分账金额必须是正整数（分）")
            if (r.get("type"), r.get("account")) not in keys.sharing_receivers:
                return pay_error(keys, 400, "RECEIVER_INVALID", f"分账接收方 {r.get('account')} 未添加或无效")
        with sb._lock:
            existing = sb.sharing_orders.get((keys.mchid, out_order_no))
            if existing is not None:
                same = [(r["account"], r["amount"]) for r in existing.receivers] == [
                    (r["account"], r["amount"]) for r in receivers]
                if not same or existing.transaction_id != transaction_id:
                    return pay_error(keys, 400, "INVALID_REQUEST", "商户分账单号重复，参数与原请求不一致")
                return pay_reply(keys, 200, sb.sharing_answer(existing))
            order = next((o for (m, _), o in sb.orders.items()
                          if m == keys.mchid and o.transaction_id == transaction_id), None)
            if order is None:
                return pay_error(keys, 404, "RESOURCE_NOT_EXISTS", "订单不存在")
            if not order.profit_sharing:
                return pay_error(keys, 400, "INVALID_REQUEST", "该订单支付时未设置分账，不能分账")
            total = sum(r["amount"] for r in receivers)
            if total > sb.unsplit_fen(order):
                return pay_error(keys, 400, "NOT_ENOUGH", "分账金额超出订单剩余待分金额")
            order.shared_fen += total
            sb.move(keys, -total, "分账", out_order_no)
            if data.get("unfreeze_unsplit") is True:
                order.unfrozen = True
            now = china_time(sb.clock())
            so = SharingOrder(
                mchid=keys.mchid, out_order_no=out_order_no, order_id="3008" + secrets.token_hex(14),
                transaction_id=transaction_id, out_trade_no=order.out_trade_no, create_time=now,
                notify_url=keys.sharing_notify_url or order.notify_url.replace("/pay/notify/", "/pay/sharing-notify/"),
                receivers=[{"type": r["type"], "account": r["account"], "amount": r["amount"],
                            "description": str(r.get("description") or "分账"), "result": "PENDING",
                            "fail_reason": None, "detail_id": "3601" + secrets.token_hex(14), "create_time": now}
                           for r in receivers])
            sb.sharing_orders[(keys.mchid, out_order_no)] = so
            answer = sb.sharing_answer(so)
        if sb.auto_settle:
            sb.finish_sharing(out_order_no, mchid=keys.mchid)
        return pay_reply(keys, 200, answer)

    @app.get("/mch/v3/profitsharing/orders/<out_order_no>")
    @pay_api
    def sharing_query(keys: MerchantKeys, data: dict[str, Any], out_order_no: str) -> Response:
        with sb._lock:
            so = sb.sharing_orders.get((keys.mchid, out_order_no))
            if so is None or so.transaction_id != request.args.get("transaction_id"):
                return pay_error(keys, 404, "RESOURCE_NOT_EXISTS", "分账单不存在")
            answer = sb.sharing_answer(so)
        return pay_reply(keys, 200, answer)

    @app.post("/mch/v3/profitsharing/orders/unfreeze")
    @pay_api
    def sharing_unfreeze(keys: MerchantKeys, data: dict[str, Any]) -> Response:
        with sb._lock:
            order = next((o for (m, _), o in sb.orders.items()
                          if m == keys.mchid and o.transaction_id == data.get("transaction_id")), None)
            if order is None or not order.profit_sharing:
                return pay_error(keys, 404, "RESOURCE_NOT_EXISTS", "订单不存在或未设置分账")
            order.unfrozen = True
        return pay_reply(keys, 200, {"transaction_id": order.transaction_id, "out_order_no": data.get("out_order_no"),
                                     "order_id": "3008" + secrets.token_hex(14), "state": "FINISHED",
                                     "receivers": []})

    @app.get("/mch/v3/profitsharing/transactions/<transaction_id>/amounts")
    @pay_api
    def sharing_amounts(keys: MerchantKeys, data: dict[str, Any], transaction_id: str) -> Response:
        with sb._lock:
            order = next((o for (m, _), o in sb.orders.items()
                          if m == keys.mchid and o.transaction_id == transaction_id), None)
            if order is None:
                return pay_error(keys, 404, "RESOURCE_NOT_EXISTS", "订单不存在")
            unsplit = sb.unsplit_fen(order)
        return pay_reply(keys, 200, {"transaction_id": transaction_id, "unsplit_amount": unsplit})

    def _return_answer(r: SharingReturn) -> dict[str, Any]:
        return {"order_id": r.order_id, "out_order_no": r.out_order_no, "out_return_no": r.out_return_no,
                "return_id": r.return_id, "return_mchid": r.return_mchid, "amount": r.amount,
                "description": r.description, "result": r.result, "fail_reason": r.fail_reason,
                "create_time": r.create_time, "finish_time": r.create_time}

    @app.post("/mch/v3/profitsharing/return-orders")
    @pay_api
    def sharing_return(keys: MerchantKeys, data: dict[str, Any]) -> Response:
        out_return_no, out_order_no = data.get("out_return_no"), data.get("out_order_no")
        amount, return_mchid = data.get("amount"), data.get("return_mchid")
        if not isinstance(out_return_no, str) or not _BILL_NO_RE.match(out_return_no) or not out_order_no:
            return pay_error(keys, 400, "PARAM_ERROR", "out_return_no/out_order_no 错误")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
            return pay_error(keys, 400, "PARAM_ERROR", "回退金额必须是正整数（分）")
        with sb._lock:
            existing = sb.sharing_returns.get((keys.mchid, out_return_no))
            if existing is not None:
                if (existing.out_order_no, existing.return_mchid, existing.amount) != (
                        out_order_no, return_mchid, amount):
                    return pay_error(keys, 400, "INVALID_REQUEST", "回退单号重复，参数与原请求不一致")
                return pay_reply(keys, 200, _return_answer(existing))
            so = sb.sharing_orders.get((keys.mchid, str(out_order_no)))
            if so is None:
                return pay_error(keys, 404, "RESOURCE_NOT_EXISTS", "分账单不存在")
            shared = sum(r["amount"] for r in so.receivers
                         if r["account"] == return_mchid and r["result"] == "SUCCESS")
            returned = sum(x.amount for (m, _), x in sb.sharing_returns.items()
                           if m == keys.mchid and x.out_order_no == so.out_order_no and x.return_mchid == return_mchid
                           and x.result == "SUCCESS")
            if amount > shared - returned:
                return pay_error(keys, 400, "NOT_ENOUGH", "回退金额超过该接收方已分账金额")
            r = SharingReturn(mchid=keys.mchid, out_return_no=out_return_no, return_id="3009" + secrets.token_hex(14),
                              out_order_no=so.out_order_no, order_id=so.order_id, return_mchid=str(return_mchid),
                              amount=amount, description=str(data.get("description") or "分账回退"),
                              create_time=china_time(sb.clock()))
            sb.sharing_returns[(keys.mchid, out_return_no)] = r
            order = sb.orders[(so.mchid, so.out_trade_no)]
            order.shared_fen -= amount
            sb.move(keys, amount, "分账回退", out_return_no)
            answer = _return_answer(r)
        return pay_reply(keys, 200, answer)

    @app.get("/mch/v3/profitsharing/return-orders/<out_return_no>")
    @pay_api
    def sharing_return_query(keys: MerchantKeys, data: dict[str, Any], out_return_no: str) -> Response:
        with sb._lock:
            r = sb.sharing_returns.get((keys.mchid, out_return_no))
            if r is None or r.out_order_no != request.args.get("out_order_no"):
                return pay_error(keys, 404, "RESOURCE_NOT_EXISTS", "回退单不存在")
            answer = _return_answer(r)
        return pay_reply(keys, 200, answer)

    # ------------------------------------------------------------ bills (交易账单, 资金账单)

    bills: dict[str, tuple[bytes, str]] = {}  # download token -> (file, tar_type)

    def _bill_answer(keys: MerchantKeys, text: str, tar_type: str) -> Response:
        raw = text.encode("utf-8")
        token = secrets.token_urlsafe(24)
        with sb._lock:
            bills[token] = (raw, tar_type)
        return pay_reply(keys, 200, {"hash_type": "SHA1", "hash_value": hashlib.sha1(raw).hexdigest(),
                                     "download_url": f"{request.host_url.rstrip('/')}/mch/v3/billdownload/file"
                                                     f"?token={token}"})

    def _bill_date(keys: MerchantKeys) -> tuple[str | None, Response | None]:
        day = request.args.get("bill_date", "")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            return None, pay_error(keys, 400, "PARAM_ERROR", "bill_date 格式错误")
        return day, None

    def _yuan(fen: int) -> str:
        return f"{fen / 100:.2f}" if fen >= 0 else f"-{-fen / 100:.2f}"

    def _bill_line(values: list[Any]) -> str:
        return ",".join(f"`{v}" for v in values)

    @app.get("/mch/v3/bill/tradebill")
    @pay_api
    def trade_bill(keys: MerchantKeys, data: dict[str, Any]) -> Response:
        day, error = _bill_date(keys)
        if error is not None:
            return error
        lines = ["交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
                 "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
                 "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"]
        paid = refunded = n = 0
        with sb._lock:
            for (m, _), o in sorted(sb.orders.items(), key=lambda kv: kv[1].success_time or ""):
                if m != keys.mchid or not o.success_time or o.success_time[:10] != day:
                    continue
                n += 1
                paid += o.total_fen
                lines.append(_bill_line([o.success_time[:19].replace("T", " "), o.appid, o.mchid, 0, "",
                                         o.transaction_id, o.out_trade_no, o.payer_openid, "JSAPI", "SUCCESS",
                                         "OTHERS", "CNY", _yuan(o.total_fen), "0.00", 0, 0, "0.00", "0.00", "", "",
                                         o.description, o.attach or "", "0.00", "0.00%", _yuan(o.total_fen),
                                         "0.00", ""]))
            for (m, _), r in sorted(sb.refunds.items(), key=lambda kv: kv[1].success_time or ""):
                if m != keys.mchid or r.status != "SUCCESS" or not r.success_time or r.success_time[:10] != day:
                    continue
                o = sb.orders[(m, r.out_trade_no)]
                n += 1
                refunded += r.refund_fen
                lines.append(_bill_line([r.success_time[:19].replace("T", " "), o.appid, m, 0, "", r.transaction_id,
                                         r.out_trade_no, o.payer_openid, "JSAPI", "REFUND", "OTHERS", "CNY",
                                         "0.00", "0.00", r.refund_id, r.out_refund_no, _yuan(r.refund_fen), "0.00",
                                         "ORIGINAL", "SUCCESS", o.description, o.attach or "", "0.00", "0.00%",
                                         _yuan(o.total_fen), _yuan(r.refund_fen), ""]))
        lines.append("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额")
        lines.append(_bill_line([n, _yuan(paid), _yuan(refunded), "0.00", "0.00", _yuan(paid), _yuan(refunded)]))
        return _bill_answer(keys, "\r\n".join(lines) + "\r\n", request.args.get("tar_type", ""))

    @app.get("/mch/v3/bill/fundflowbill")
    @pay_api
    def fundflow_bill(keys: MerchantKeys, data: dict[str, Any]) -> Response:
        day, error = _bill_date(keys)
        if error is not None:
            return error
        lines = ["记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,"
                 "备注,业务凭证号"]
        income = expense = n_in = n_out = 0
        with sb._lock:
            for i, f in enumerate(keys.fund_flows):
                if f["time"][:10] != day:
                    continue
                kind = "收入" if f["delta_fen"] > 0 else "支出"
                if f["delta_fen"] > 0:
                    income, n_in = income + f["delta_fen"], n_in + 1
                else:
                    expense, n_out = expense - f["delta_fen"], n_out + 1
                lines.append(_bill_line([f["time"][:19].replace("T", " "), f["ref"], f"{keys.mchid}{i:012d}",
                                         f["business"], f["business"], kind, _yuan(abs(f["delta_fen"])),
                                         _yuan(f["balance_fen"]), "system", "", f["ref"]]))
        lines.append("资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额")
        lines.append(_bill_line([n_in + n_out, n_in, _yuan(income), n_out, _yuan(expense)]))
        return _bill_answer(keys, "\r\n".join(lines) + "\r\n", request.args.get("tar_type", ""))

    @app.get("/mch/v3/billdownload/file")
    @pay_api
    def bill_download(keys: MerchantKeys, data: dict[str, Any]) -> Response:
        with sb._lock:
            found = bills.get(request.args.get("token", ""))
        if found is None:
            return pay_error(keys, 404, "RESOURCE_NOT_EXISTS", "账单不存在或已过期")
        raw, tar_type = found
        body = gzip.compress(raw) if tar_type == "GZIP" else raw
        return Response(body, status=200, headers={"Content-Type": "application/octet-stream"})

    # ------------------------------------------------------------ /sandbox controls

    @app.get("/sandbox")
    def sandbox_index() -> Response:
        # A browser gets the console page; clients asking for JSON (or ?format=json) the state.
        wants_html = request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
        if wants_html and request.args.get("format") != "json":
            return app.config["SANDBOX_CONSOLE_PAGE"]()  # type: ignore[no-any-return]
        return jsonify({"sandbox": "siyu-wechat", "instance": sb.instance_id,
                        "summary": sb.summary(),
                        "hosts": {"api.weixin.qq.com": "/api", "mp.weixin.qq.com": "/mp",
                                  "qyapi.weixin.qq.com": "/qyapi",
                                  "api.mch.weixin.qq.com": "/mch"}})

    @app.get("/sandbox/messages")
    def sandbox_messages() -> Response:
        with sb._lock:
            return jsonify({"subscribe": sb.subscribe_messages, "template": sb.template_messages,
                            "wecom": sb.wecom_messages, "welcome": sb.welcome_messages,
                            "robot": sb.robot_messages})

    @app.get("/sandbox/notifications")
    def sandbox_notifications() -> Response:
        with sb._lock:
            pending = {n.id for n in sb.pending_notifications()}
            return jsonify([{"id": n.id, "event_type": n.event_type, "mchid": n.mchid,
                             "url": n.url, "resource": n.resource, "pending": n.id in pending}
                            for n in sb.notifications])

    def _control(fn: Callable[[], Any]) -> Response:
        try:
            out = fn()
        except (KeyError, ValueError) as exc:
            return _err(40097, str(exc), 400)
        if hasattr(out, "id") and hasattr(out, "event_type"):
            return _ok(notification={"id": out.id, "event_type": out.event_type,
                                     "resource": out.resource})
        return _ok(result=out)

    @app.post("/sandbox/register")
    def sandbox_register() -> Response:
        data = _json() or {}
        creds = TenantWeChatCredentials.from_flat(data.get("credentials") or {})
        return _control(lambda: sb.register_tenant(
            creds, oa_push_url=data.get("oa_push_url"),
            wecom_callback_url=data.get("wecom_callback_url")))

    @app.post("/sandbox/pay/orders/<out_trade_no>/pay")
    def sandbox_pay(out_trade_no: str) -> Response:
        data = _json() or {}
        return _control(lambda: sb.pay_order(out_trade_no, mchid=data.get("mchid")))

    @app.post("/sandbox/pay/request-payment")
    def sandbox_request_payment() -> Response:
        data = _json() or {}
        return _control(lambda: sb.request_payment(data.get("params") or {},
                                                   appid=str(data.get("appid", ""))))

    @app.post("/sandbox/pay/refunds/<out_refund_no>/complete")
    def sandbox_refund(out_refund_no: str) -> Response:
        data = _json() or {}
        return _control(lambda: sb.complete_refund(out_refund_no,
                                                   status=data.get("status", "SUCCESS")))

    @app.post("/sandbox/pay/transfers/<out_bill_no>/<action>")
    def sandbox_transfer(out_bill_no: str, action: str) -> Response:
        fns = {"confirm": sb.confirm_transfer, "fail": sb.fail_transfer,
               "expire": sb.expire_transfer}
        if action not in fns:
            return _err(40097, "action must be confirm, fail or expire", 404)
        return _control(lambda: fns[action](out_bill_no))

    @app.post("/sandbox/pay/notifications/deliver")
    def sandbox_deliver() -> Response:
        data = _json() or {}
        return _control(lambda: [
            {"id": d.notification_id, "status": d.result.status_code}
            for d in sb.deliver_pending(order=data.get("order", "fifo"),
                                        times=int(data.get("times", 1)))])

    @app.post("/sandbox/oa/scan")
    def sandbox_oa_scan() -> Response:
        data = _json() or {}
        return _control(lambda: _push_summary(sb.scan_oa_qrcode(
            str(data.get("ticket") or data.get("scene") or ""), str(data.get("user", "")),
            appid=data.get("appid"))))

    @app.post("/sandbox/oa/<appid>/text")
    def sandbox_oa_text(appid: str) -> Response:
        data = _json() or {}
        return _control(lambda: _push_summary(sb.oa_text(appid, str(data.get("user", "")),
                                                         str(data.get("content", "")))))

    @app.post("/sandbox/wecom/contact-ways/<config_id>/add")
    def sandbox_wecom_add(config_id: str) -> Response:
        data = _json() or {}

        def run() -> Any:
            ext, push = sb.wecom_add_customer(config_id, str(data.get("user", "")),
                                              name=data.get("name"))
            return {"external_userid": ext,
                    "callback_status": push.result.status_code if push else None}
        return _control(run)

    install_console(app, sb)
    return app


def _push_summary(p: Any) -> dict[str, Any]:
    return {"status": p.result.status_code, "reply": p.reply}
