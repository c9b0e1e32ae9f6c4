"""Expected failures of the rewards domain."""

from __future__ import annotations

from backend.errors import DomainError, NotFound


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


class NoActivePlan(NotFound):
    code = "no_active_plan"
    message = "尚未启用奖励方案"


class PlanVersionNotFound(NotFound):
    code = "plan_version_not_found"
    message = "奖励方案版本不存在"


class UnknownLevel(DomainError):
    """A level or tier key the active plan does not define."""

    code = "unknown_level"
    http_status = 400
    message = "当前奖励方案中没有该等级"
