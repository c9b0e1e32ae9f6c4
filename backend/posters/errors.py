"""Poster errors: a refused template, a QR code that cannot be drawn."""

from __future__ import annotations

from typing import Any

from backend.errors import Conflict, DomainError, NotFound


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


class PosterKindUnknown(NotFound):
    code = "poster_kind_unknown"
    message = "海报类型不存在"


class PosterKindUnavailable(NotFound):
    """No domain provides subjects of this kind yet (e.g. live rooms not enabled)."""

    code = "poster_kind_unavailable"
    message = "该类海报暂未开放"


class PosterSubjectRequired(DomainError):
    code = "poster_subject_required"
    http_status = 400
    message = "请指定海报对应的商品、小店或直播间"


class PosterTemplateNotFound(NotFound):
    code = "poster_template_not_found"
    message = "海报模板不存在"


class PosterTemplateActiveConflict(Conflict):
    code = "poster_template_active_conflict"
    message = "该类型已有启用的模板，请重试"
