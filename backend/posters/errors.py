"""Poster errors: a refused template, a QR code that cannot be drawn."""

from __future__ import annotations

from typing import Any

from backend.errors import DomainError


class InvalidTemplate(DomainError):
    """A poster layout that breaks the format; details lists {"field", "message"}."""

    code = "invalid_template"
    http_status = 400
    message = "海报模板无效"

    def __init__(self, problems: list[dict[str, str]]) -> None:
        first = problems[0] if problems else {"field": "$", "message": "格式错误"}
        summary = f"海报模板无效：{first['field']}：{first['message']}"
        if len(problems) > 1:
            summary += f"（另有 {len(problems) - 1} 处问题）"
        super().__init__(summary, details=problems)
        self.problems = problems

    @property
    def fields(self) -> list[str]:
        return [p["field"] for p in self.problems]


class QrUnavailable(DomainError):
    """The QR payload could not be drawn (unreadable mini-program code, text too long)."""

    code = "poster_qr_unavailable"
    http_status = 502
    message = "海报二维码生成失败，请稍后再试"

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        super().__init__(message, details=details)
