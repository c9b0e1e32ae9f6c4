"""The sandbox console: `/sandbox` in a browser is a page (in Chinese) listing every
control with a form and the equivalent curl, and what was sent to members.

Every control is also a JSON endpoint, `POST /sandbox/controls/<key>` with the form's
fields as a JSON object; the page's forms post to `/sandbox/console/<key>` and show
the answer. Controls cover the steps a person does on a phone (pay an order with
wx.requestPayment, scan a promoter's official-account QR or follow, write to the bot as
a WeCom user or a personal-WeChat contact) and the knobs of WeChat itself (deliver,
repeat or hold payment notifications, settle refunds and transfers). The process that
hosts the sandbox may add its own (`Sandbox.add_control`): `./dev run` adds "run a
scheduled job now" and "move the clock on for settlement".

Writing to the bot as a personal-WeChat contact goes to the bot process's in-memory
puppet bridge (`bot/memory_bridge.py`) at `Sandbox.bot_url`; writing as a WeCom user
is an encrypted WeCom callback to the registered callback URL (the bot's), whose
answers come back as app messages through the sandbox's own WeCom API.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, Response, jsonify, render_template_string, request

from backend.wechat.sandbox.core import Sandbox, _default_sender

ControlFn = Callable[[Mapping[str, str]], Any]


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    example: str = ""
    choices: Sequence[str] = ()
    wide: bool = False  # a textarea


@dataclass(frozen=True)
class Control:
    key: str
    title: str
    help: str
    fields: Sequence[Field]
    run: ControlFn
    group: str = "支付"
    extra: dict[str, Any] = field(default_factory=dict)


class ControlError(ValueError):
    """A control's input is wrong (answered 400 with the message)."""


def _need(data: Mapping[str, str], name: str) -> str:
    value = str(data.get(name) or "").strip()
    if not value:
        raise ControlError(f"缺少 {name}")
    return value


def _int(data: Mapping[str, str], name: str, default: int) -> int:
    raw = str(data.get(name) or "").strip()
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise ControlError(f"{name} 须为整数") from exc


def _notification(n: Any) -> dict[str, Any]:
    return {"notification": {"id": n.id, "event_type": n.event_type, "resource": n.resource}}


def _only_corp(sb: Sandbox, corp_id: str) -> str:
    if corp_id:
        return corp_id
    with sb._lock:
        corps = list(sb.corps)
    if len(corps) != 1:
        raise ControlError("有多个企业微信，请填写 corp_id")
    return corps[0]


def _only_oa(sb: Sandbox, appid: str) -> str:
    if appid:
        return appid
    with sb._lock:
        oas = [a.appid for a in sb.apps.values() if a.kind == "oa"]
    if len(oas) != 1:
        raise ControlError("有多个公众号，请填写 appid")
    return oas[0]


def _recipients(touser: Any) -> list[str]:
    return [str(u) for u in touser] if isinstance(touser, list) else str(touser or "").split("|")


def wecom_text(sb: Sandbox, *, user: str, content: str, corp_id: str = "") -> dict[str, Any]:
    """A WeCom user writes to the corp's self-built app: the encrypted text callback goes
    to the registered callback URL; the app messages sent back to that user meanwhile
    are the replies."""
    corp_id = _only_corp(sb, corp_id)
    with sb._lock:
        corp = sb.corps.get(corp_id)
        before = len(sb.wecom_messages)
    if corp is None:
        raise ControlError(f"企业微信 {corp_id} 未注册")
    fields = {"ToUserName": corp_id, "FromUserName": user, "CreateTime": int(sb.clock()),
              "MsgType": "text", "Content": content, "MsgId": str(secrets.randbelow(10**18)),
              "AgentID": corp.agent_id or ""}
    w = sb.build_wecom_callback(corp_id, fields)
    res = _default_sender(w)
    with sb._lock:
        sent = sb.wecom_messages[before:]
    replies = [m for m in sent if user in _recipients(m.get("touser"))]
    return {"callback_status": res.status_code, "callback_error": res.error, "replies": replies}


def wechat_text(sb: Sandbox, *, contact: str, content: str, name: str = "",
                friend_request: bool = False) -> dict[str, Any]:
    """A personal-WeChat contact writes to the bot (or sends a friend request with this
    greeting): handed to the bot process's in-memory puppet; its replies come back."""
    if not sb.bot_url:
        raise ControlError("机器人未运行（./dev run 会启动它；或设置 sandbox.bot_url）")
    try:
        res = requests.post(f"{sb.bot_url}/_sandbox/wechat/message", timeout=30, json={
            "contact": contact, "name": name or contact, "content": content,
            "friend_request": friend_request})
    except requests.RequestException as exc:
        raise ControlError(f"连不上机器人：{exc}") from exc
    if res.status_code != 200:
        raise ControlError(f"机器人答复 {res.status_code}: {res.text[:200]}")
    answer: dict[str, Any] = res.json()
    return answer


def builtin_controls(sb: Sandbox) -> list[Control]:
    """The controls every sandbox has."""
    def pay_order(d: Mapping[str, str]) -> Any:
        return _notification(sb.pay_order(_need(d, "out_trade_no")))

    def request_payment(d: Mapping[str, str]) -> Any:
        raw = _need(d, "prepay")
        try:
            prepay = json.loads(raw)
        except ValueError as exc:
            raise ControlError("prepay 须为 JSON（小程序下单接口 /pay 的答复）") from exc
        params = prepay.get("request_payment", prepay) if isinstance(prepay, dict) else None
        appid = str(d.get("appid") or (prepay.get("appid") if isinstance(prepay, dict) else "") or "")
        if not isinstance(params, dict) or not appid:
            raise ControlError("prepay 须含 appid 与 request_payment")
        return _notification(sb.request_payment(params, appid=appid))

    def deliver_pending(d: Mapping[str, str]) -> Any:
        order = str(d.get("order") or "fifo")
        return [{"id": x.notification_id, "status": x.result.status_code, "error": x.result.error}
                for x in sb.deliver_pending(order=order, times=_int(d, "times", 1))]

    def repeat(d: Mapping[str, str]) -> Any:
        wanted = _need(d, "notification_id")
        with sb._lock:
            found = [n for n in sb.notifications if n.id == wanted]
        if not found:
            raise ControlError(f"没有通知 {wanted}")
        return [{"id": x.notification_id, "status": x.result.status_code, "error": x.result.error}
                for x in sb.deliver(found[0], times=_int(d, "times", 2))]

    def hold(d: Mapping[str, str]) -> Any:
        sb.auto_deliver = str(d.get("auto_deliver") or "on") == "on"
        return {"auto_deliver": sb.auto_deliver}

    def refund(d: Mapping[str, str]) -> Any:
        return _notification(sb.complete_refund(_need(d, "out_refund_no"),
                                                status=str(d.get("status") or "SUCCESS")))

    def transfer(d: Mapping[str, str]) -> Any:
        fns = {"confirm": sb.confirm_transfer, "fail": sb.fail_transfer, "expire": sb.expire_transfer}
        action = str(d.get("action") or "confirm")
        if action not in fns:
            raise ControlError("action 须为 confirm、fail 或 expire")
        return _notification(fns[action](_need(d, "out_bill_no")))

    def oa_scan(d: Mapping[str, str]) -> Any:
        p = sb.scan_oa_qrcode(_need(d, "scene"), _need(d, "user"))
        return {"status": p.result.status_code, "reply": p.reply}

    def oa_follow(d: Mapping[str, str]) -> Any:
        p = sb.oa_event(_only_oa(sb, str(d.get("appid") or "")), _need(d, "user"), "subscribe")
        return {"status": p.result.status_code, "reply": p.reply}

    def oa_message(d: Mapping[str, str]) -> Any:
        p = sb.oa_text(_only_oa(sb, str(d.get("appid") or "")), _need(d, "user"), _need(d, "content"))
        return {"status": p.result.status_code, "reply": p.reply}

    def wecom(d: Mapping[str, str]) -> Any:
        return wecom_text(sb, user=_need(d, "user"), content=_need(d, "content"),
                          corp_id=str(d.get("corp_id") or ""))

    def wechat(d: Mapping[str, str]) -> Any:
        return wechat_text(sb, contact=_need(d, "contact"), content=str(d.get("content") or ""),
                           name=str(d.get("name") or ""),
                           friend_request=str(d.get("friend_request") or "") in ("1", "true", "on", "yes"))

    def outage(d: Mapping[str, str]) -> Any:
        try:
            delay = float(str(d.get("delay_seconds") or "0"))
        except ValueError as exc:
            raise ControlError("delay_seconds 须为数字") from exc
        if not 0 <= delay <= 120:
            raise ControlError("delay_seconds 须在 0–120 之间")
        sb.delay_seconds = delay
        sb.down = str(d.get("down") or "off") in ("1", "true", "on", "yes")
        return {"delay_seconds": sb.delay_seconds, "down": sb.down}

    return [
        Control("outage", "微信故障：变慢 / 宕机",
                "让沙箱扮演的微信接口（登录、支付、转账、消息……）每次先等 N 秒再答，或全部答 503。"
                "商城的外部调用有超时，通知与转账在恢复后补发；本控制台不受影响。",
                [Field("delay_seconds", "延迟秒数", "0"), Field("down", "宕机", "off", ("on", "off"))],
                outage, group="故障"),
        Control("request_payment", "支付订单（wx.requestPayment）",
                "把小程序 POST /api/v1/mp/shop/orders/<id>/prepay 的答复整段粘进来：沙箱按商户公钥校验 paySign，"
                "订单变为已支付，微信支付回调随即投递（自动投递暂停时留在待投递）。",
                [Field("prepay", "预支付答复 JSON", '{"appid": "…", "request_payment": {…}}', wide=True)],
                request_payment),
        Control("pay_order", "按订单号支付", "不经 paySign 校验，直接让买家付款（out_trade_no 即订单号 order_no）。",
                [Field("out_trade_no", "订单号（order_no）", "20261205…")], pay_order),
        Control("deliver_pending", "投递待处理的支付通知", "把尚未成功应答的通知发给商城（fifo、reverse 或 shuffle）。",
                [Field("times", "每条次数", "1"), Field("order", "顺序", "fifo", ("fifo", "reverse", "shuffle"))],
                deliver_pending),
        Control("repeat_notification", "重复投递一条通知", "微信支付会重发：同一条通知再投几次，商城只应处理一次。",
                [Field("notification_id", "通知 id", ""), Field("times", "次数", "2")], repeat),
        Control("hold", "暂停 / 恢复自动投递", "暂停后新通知留在待投递，可稍后手动投递、乱序或重复投递。",
                [Field("auto_deliver", "自动投递", "off", ("on", "off"))], hold),
        Control("complete_refund", "退款结果", "让一笔退款成功或失败（自动结算开启时退款会立即成功）。",
                [Field("out_refund_no", "退款单号", ""),
                 Field("status", "结果", "SUCCESS", ("SUCCESS", "ABNORMAL", "CLOSED"))], refund),
        Control("transfer", "提现转账结果", "收款人确认、转账失败或过期（商家转账到零钱）。",
                [Field("out_bill_no", "转账单号", ""),
                 Field("action", "动作", "confirm", ("confirm", "fail", "expire"))], transfer),
        Control("oa_scan", "扫推广员的公众号二维码", "未关注则关注（subscribe + qrscene_），已关注则 SCAN；"
                "推广员的二维码来自 GET /api/v1/mp/me/oa-qrcode，场景值形如 i=邀请码。",
                [Field("scene", "场景值或 ticket", "i=ABC234"), Field("user", "扫码的人（任意字符串）", "new-friend")],
                oa_scan, group="公众号"),
        Control("oa_follow", "直接关注公众号", "不带参数的关注事件。",
                [Field("user", "关注的人", "new-friend"), Field("appid", "公众号 appid（只有一个时可留空）", "")],
                oa_follow, group="公众号"),
        Control("oa_text", "给公众号发消息", "用户在公众号里发文字。",
                [Field("user", "发消息的人", "new-friend"), Field("content", "内容", "你好"),
                 Field("appid", "公众号 appid（只有一个时可留空）", "")], oa_message, group="公众号"),
        Control("wecom_text", "以企业微信成员身份给机器人发消息",
                "员工在企业微信自建应用里发文字，机器人以应用消息回复（先在后台 POST /api/v1/admin/me/bot-link-code 取绑定码，发“绑定 123456”）。",
                [Field("user", "企业微信 userid", "wangxiao"), Field("content", "内容", "帮助"),
                 Field("corp_id", "corp_id（只有一个时可留空）", "")], wecom, group="机器人"),
        Control("wechat_text", "以个人微信联系人身份给机器人发消息",
                "联系人在个人微信里给机器人发文字（或带这句招呼语加好友）；会员在小程序里取绑定码"
                "（POST /api/v1/mp/me/bot-link-code），发“绑定 123456”即完成绑定。",
                [Field("contact", "联系人 wxid", "wxid_alice"), Field("name", "昵称", "爱丽丝"),
                 Field("content", "内容", "帮助"),
                 Field("friend_request", "作为好友申请发送", "no", ("no", "yes"))], wechat, group="机器人"),
    ]


_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>微信沙箱控制台</title>
<style nonce="{{ nonce }}">
body{font:14px/1.5 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0 auto;max-width:1100px;padding:0 16px 48px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
section.c{border:1px solid #e3e3e3;border-radius:6px;padding:10px 14px;margin:12px 0}
section.c h3{margin:0 0 4px;font-size:15px}p.h{color:#666;margin:0 0 8px}
label{display:inline-block;margin:0 12px 6px 0}input,select{font:inherit;padding:2px 4px}
textarea{font:12px monospace;width:100%;height:70px}pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px;white-space:pre-wrap;word-break:break-all}
.r{border-left:4px solid #2a8;padding-left:10px}.e{border-left-color:#c33}
table{border-collapse:collapse;width:100%;font-size:12px}td,th{border:1px solid #e3e3e3;padding:3px 6px;text-align:left;vertical-align:top}
</style></head><body>
<h1>微信沙箱控制台</h1>
<p>本地模拟的微信、微信支付与企业微信（实例 {{ instance }}，自动投递：{{ "开" if auto_deliver else "关" }}）。
每个操作都可在此提交，也可用下面的 curl 调用（JSON 接口 <code>POST /sandbox/controls/&lt;key&gt;</code>）。
机器可读的状态：<a href="/sandbox?format=json">/sandbox?format=json</a>、<a href="/sandbox/messages">/sandbox/messages</a>、<a href="/sandbox/notifications">/sandbox/notifications</a>。</p>
{% if result is not none %}
<section class="c r {{ 'e' if error else '' }}"><h3>{{ result_title }}：{{ "失败" if error else "完成" }}</h3>
<pre>{{ result }}</pre>
{% for img in images %}<img alt="机器人发送的图片" src="data:image/png;base64,{{ img }}" width="240">{% endfor %}
</section>
{% endif %}
{% for group, controls in groups %}
<h2>{{ group }}</h2>
{% for c in controls %}
<section class="c" id="{{ c.key }}"><h3>{{ c.title }}</h3><p class="h">{{ c.help }}</p>
<form method="post" action="/sandbox/console/{{ c.key }}">
{% for f in c.fields %}<label>{{ f.label }}
{% if f.choices %}<select name="{{ f.name }}">{% for ch in f.choices %}<option{{ " selected" if ch == f.example else "" }}>{{ ch }}</option>{% endfor %}</select>
{% elif f.wide %}<textarea name="{{ f.name }}" placeholder="{{ f.example }}"></textarea>
{% else %}<input name="{{ f.name }}" value="{{ f.example }}">{% endif %}</label>
{% endfor %}<button type="submit">执行</button></form>
<pre>{{ curls[c.key] }}</pre></section>
{% endfor %}{% endfor %}
<h2>最近的微信支付订单</h2>
<table><tr><th>商户单号（order_no）</th><th>商品</th><th>金额（分）</th><th>状态</th></tr>
{% for o in orders %}<tr><td>{{ o.out_trade_no }}</td><td>{{ o.description }}</td><td>{{ o.total_fen }}</td><td>{{ o.trade_state }}</td></tr>{% else %}<tr><td colspan="4">暂无</td></tr>{% endfor %}
</table>
<h2>最近的支付通知</h2>
<table><tr><th>id</th><th>类型</th><th>商户单号</th><th>待投递</th></tr>
{% for n in notifications %}<tr><td>{{ n.id }}</td><td>{{ n.event_type }}</td><td>{{ n.no }}</td><td>{{ "是" if n.pending else "" }}</td></tr>{% endfor %}
</table>
<h2>发给会员和员工的消息</h2>
{% for title, rows in sent %}<h3>{{ title }}（最近 {{ rows|length }} 条）</h3>
<table>{% for r in rows %}<tr><td><pre>{{ r }}</pre></td></tr>{% else %}<tr><td>暂无</td></tr>{% endfor %}</table>
{% endfor %}
</body></html>"""


def _curl(base: str, key: str, fields: Sequence[Field]) -> str:
    body = json.dumps({f.name: f.example for f in fields}, ensure_ascii=False)
    quoted = body.replace("'", "'\\''")
    return (f"curl -s -X POST {base}/sandbox/controls/{key} \\\n"
            f"     -H 'content-type: application/json' -d '{quoted}'")


def _security_headers(res: Response, nonce: str | None = None) -> Response:
    style = f"style-src 'nonce-{nonce}'" if nonce else "style-src 'none'"
    res.headers["Content-Security-Policy"] = (
        f"default-src 'none'; {style}; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'")
    res.headers["X-Content-Type-Options"] = "nosniff"
    res.headers["Referrer-Policy"] = "no-referrer"
    res.headers["Cache-Control"] = "no-store"
    return res


def install_console(app: Flask, sb: Sandbox) -> None:
    """Add the console page and the control endpoints to the sandbox's Flask app."""
    for c in builtin_controls(sb):
        sb.controls.setdefault(c.key, c)

    def run(key: str, data: Mapping[str, str]) -> tuple[int, Any]:
        control = sb.controls.get(key)
        if control is None:
            return 404, {"error": f"没有这个操作：{key}"}
        try:
            return 200, {"result": control.run(data)}
        except (ControlError, KeyError, ValueError) as exc:
            return 400, {"error": str(exc.args[0] if exc.args else exc)}

    @app.post("/sandbox/controls/<key>")
    def control_json(key: str) -> Response:
        try:
            data = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            res = jsonify({"error": "请求体须为 JSON 对象"})
            res.status_code = 400
            return res
        status, body = run(key, {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                                 if isinstance(v, (dict, list)) else str(v) for k, v in data.items()})
        res = jsonify(body)
        res.status_code = status
        return res

    @app.post("/sandbox/console/<key>")
    def control_form(key: str) -> Response:
        # The page's own forms only: a form another site posts here carries its Origin.
        origin = request.headers.get("Origin")
        if origin and origin.rstrip("/") != request.host_url.rstrip("/"):
            return _security_headers(Response("跨站提交被拒绝", status=403, content_type="text/plain; charset=utf-8"))
        status, body = run(key, request.form.to_dict())
        control = sb.controls.get(key)
        return page(result=body, result_title=control.title if control else key, status=status)

    def page(*, result: Any = None, result_title: str = "", status: int = 200) -> Response:
        base = request.host_url.rstrip("/")
        groups: dict[str, list[Control]] = {}
        for c in sb.controls.values():
            groups.setdefault(c.group, []).append(c)
        with sb._lock:
            pending = {n.id for n in sb.pending_notifications()}
            notifications = [{"id": n.id, "event_type": n.event_type, "pending": n.id in pending,
                              "no": n.resource.get("out_trade_no") or n.resource.get("out_refund_no")
                              or n.resource.get("out_bill_no") or ""}
                             for n in sb.notifications[-20:]][::-1]
            orders = sorted(sb.orders.values(), key=lambda o: o.created_at)[-10:][::-1]
            sent = [("小程序订阅消息", sb.subscribe_messages[-20:][::-1]),
                    ("企业微信应用消息", sb.wecom_messages[-20:][::-1]),
                    ("企业微信群机器人", sb.robot_messages[-20:][::-1]),
                    ("企业微信欢迎语", sb.welcome_messages[-10:][::-1])]
        images: list[str] = []
        if isinstance(result, dict) and isinstance(result.get("result"), dict):
            images = [i for i in result["result"].get("images", []) if isinstance(i, str)]
            if images:
                result = {**result, "result": {**result["result"], "images": f"{len(images)} 张，见下"}}
        nonce = secrets.token_urlsafe(16)
        html = render_template_string(
            _PAGE, nonce=nonce, instance=sb.instance_id, auto_deliver=sb.auto_deliver,
            groups=list(groups.items()), curls={c.key: _curl(base, c.key, c.fields) for c in sb.controls.values()},
            result=None if result is None else json.dumps(result, ensure_ascii=False, indent=2, default=str),
            result_title=result_title, error=status != 200, images=images, notifications=notifications, orders=orders,
            sent=[(t, [json.dumps(r, ensure_ascii=False, default=str) for r in rows]) for t, rows in sent])
        return _security_headers(Response(html, status=status, content_type="text/html; charset=utf-8"), nonce)

    app.config["SANDBOX_CONSOLE_PAGE"] = page
