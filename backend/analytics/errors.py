"""Errors of the dashboard figures."""

from __future__ import annotations

from backend.errors import DomainError


class InvalidPeriod(DomainError):
    code = "invalid_period"
    message = "统计区间无效：结束日期须不早于开始日期，且区间不超过 366 天"
