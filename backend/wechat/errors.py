"""Failures at the WeChat edge, each with a stable code and HTTP status.

Two families: what a caller of *our* endpoints sent us (a forged notification, an
invalid login code) and what WeChat answered us (upstream errors). The second kind
is 502/503 so the API says "try again" instead of blaming the client.
"""

from __future__ import annotations

from typing import Any

from backend.errors import DomainError


class WeChatError(DomainError):
    """Base of every WeChat-edge failure."""

    code = "wechat_error"
    http_status = 502
    message = "微信服务暂时不可用，请稍后再试"


# --- inbound: notifications and pushes we receive -------------------------------

class NotificationBadSignature(WeChatError):
    """A pay notification whose signature, serial or headers do not verify."""

    code = "bad_signature"
    http_status = 401
    message = "通知签名无效"


class NotificationStale(WeChatError):
    """A correctly signed pay notification whose timestamp is over 5 minutes off."""

    code = "stale_notification"
    http_status = 401
    message = "通知已过期"


class NotificationMalformed(WeChatError):
    """A signed notification we cannot decrypt or read (wrong APIv3 key, bad JSON)."""

    code = "bad_notification"
    http_status = 400
    message = "通知内容无法解析"


class PushBadSignature(WeChatError):
    """An official-account / WeCom push whose signature does not verify."""

    code = "bad_signature"
    http_status = 403
    message = "签名校验失败"


class PushStale(PushBadSignature):
    """A signed push whose timestamp is outside the accepted window (a replay, or a
    clock far off)."""

    code = "push_stale"
    message = "消息时间戳已过期"


class PushReplayed(PushBadSignature):
    """A (timestamp, nonce) pair seen before within the window: a replayed push."""

    code = "push_replayed"
    message = "重复的消息请求"


class PushPlaintextRefused(PushBadSignature):
    """A plaintext push for an account in safe mode (its AES key is set)."""

    code = "push_plaintext_refused"
    message = "公众号已启用安全模式，拒绝明文消息"


class PushMalformed(WeChatError):
    """A push body that is not the XML WeChat sends."""

    code = "bad_push"
    http_status = 400
    message = "消息格式错误"


# --- outbound: WeChat answered with an error ------------------------------------

class WeChatUpstreamError(WeChatError):
    """WeChat answered an error we have no better name for; details keep its code."""

    code = "wechat_upstream_error"
    http_status = 502

    def __init__(self, message: str | None = None, *, wechat_code: Any = None,
                 wechat_message: str | None = None, **kwargs: Any) -> None:
        details = {"wechat_code": wechat_code, "wechat_message": wechat_message}
        super().__init__(message, details=details, **kwargs)
        self.wechat_code = wechat_code
        self.wechat_message = wechat_message


class WeChatUnavailable(WeChatError):
    """WeChat (or the sandbox) could not be reached."""

    code = "wechat_unavailable"
    http_status = 503
    message = "无法连接微信服务，请稍后再试"


class SandboxOnly(WeChatError):
    """A sandbox-only action (the H5 shop paying outside WeChat) asked of live WeChat."""

    code = "sandbox_only"
    http_status = 409
    message = "仅在沙箱模式下可在网页中模拟支付，请在微信中支付"


class WeChatRateLimited(WeChatUpstreamError):
    code = "wechat_rate_limited"
    http_status = 429
    message = "操作太频繁，请稍后再试"


class InvalidLoginCode(WeChatUpstreamError):
    """wx.login code unknown, expired or already used (40029 / 40163)."""

    code = "invalid_login_code"
    http_status = 400
    message = "登录凭证无效或已过期，请重新登录"


class InvalidPhoneCode(WeChatUpstreamError):
    code = "invalid_phone_code"
    http_status = 400
    message = "手机号授权码无效或已过期"


class SubscribeRefused(WeChatUpstreamError):
    """The user has not accepted (or has used up) this subscribe-message template."""

    code = "subscribe_refused"
    http_status = 409
    message = "用户未订阅该消息"


class InvalidScene(WeChatUpstreamError):
    code = "invalid_scene"
    http_status = 400
    message = "小程序码参数不合法"


class PayOrderNotFound(WeChatUpstreamError):
    code = "pay_order_not_found"
    http_status = 404
    message = "微信支付订单不存在"


class PayRequestRejected(WeChatUpstreamError):
    """WeChat Pay refused a request (PARAM_ERROR, INVALID_REQUEST, NOT_ENOUGH, …)."""

    code = "pay_rejected"
    http_status = 502
    message = "微信支付拒绝了请求"


class PayeeNameRequired(WeChatError):
    """WeChat Pay wants the payee's real name for a transfer of 2000 yuan or more."""

    code = "payee_name_required"
    http_status = 400
    message = "单笔转账金额达到2000元时需要填写收款人真实姓名"


class PayResponseUnverified(WeChatError):
    """A WeChat Pay answer whose signature did not verify: never trust it."""

    code = "pay_response_unverified"
    http_status = 502
    message = "微信支付应答签名无效"
