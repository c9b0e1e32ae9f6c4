"""Domain errors carry their own stable code and HTTP status.

The API renders them as {"code", "message"}; the bot maps the same codes to chat
text. Messages are Chinese because brands and their people read them.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every expected failure; never becomes a 500."""

    code: str = "error"
    http_status: int = 400
    message: str = "请求有误"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 http_status: int | None = None, details: Any = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class NotFound(DomainError):
    code = "not_found"
    http_status = 404
    message = "资源不存在"


class Conflict(DomainError):
    code = "conflict"
    http_status = 409
    message = "状态冲突"


class Forbidden(DomainError):
    code = "forbidden"
    http_status = 403
    message = "无权访问"


class Unauthorized(DomainError):
    code = "unauthorized"
    http_status = 401
    message = "未登录或登录已失效"


class ValidationFailed(DomainError):
    """Field-level validation errors; details lists {"field", "message"}."""

    code = "validation_failed"
    http_status = 400
    message = "参数校验失败"
