from __future__ import annotations

from backend.errors import DomainError


class UnknownAlertKind(DomainError):
    code = "unknown_alert_kind"
    http_status = 400
    message = "未知的通知类型"


class InvalidChannel(DomainError):
    code = "invalid_channel"
    http_status = 400
    message = "通知渠道无效"


class LinkCodeInvalid(DomainError):
    code = "link_code_invalid"
    http_status = 400
    message = "绑定码无效或已过期，请在小程序中重新获取"


class LinkCodeThrottled(DomainError):
    code = "link_code_throttled"
    http_status = 429
    message = "尝试次数过多，请稍后再试"


class ChatNotLinked(DomainError):
    code = "chat_not_linked"
    http_status = 403
    message = "请先绑定账号：在小程序「我的」页面获取绑定码，发送「绑定 绑定码」"


class StaffOnly(DomainError):
    code = "staff_only"
    http_status = 403
    message = "该功能仅限员工使用"
