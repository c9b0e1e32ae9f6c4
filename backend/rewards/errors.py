"""Expected failures of the rewards domain."""

from __future__ import annotations

from backend.errors import DomainError


class InvalidPlan(DomainError):
    """A plan document failed validation; details lists {"field", "message"}."""

    code = "invalid_plan"
    http_status = 400
    message = "奖励方案校验失败"

    def __init__(self, errors: list[dict[str, str]], message: str | None = None) -> None:
        super().__init__(message, details=errors)
        self.errors = errors


class InvalidCase(DomainError):
    """A simulator case (members, order) failed validation; details lists {"field", "message"}."""

    code = "invalid_case"
    http_status = 400
    message = "模拟用例校验失败"

    def __init__(self, errors: list[dict[str, str]], message: str | None = None) -> None:
        super().__init__(message, details=errors)
        self.errors = errors
