from backend.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorized


class BadCredentials(Unauthorized):
    code = "bad_credentials"
    message = "用户名或密码错误"


class StaffNotFound(NotFound):
    code = "staff_not_found"
    message = "员工不存在"


class UsernameTaken(Conflict):
    code = "username_taken"
    message = "用户名已存在"


class LoginLocked(DomainError):
    """Too many failed log-ins for this account: locked for `retry_after` seconds."""

    code = "login_locked"
    http_status = 429
    message = "密码错误次数过多，账号已临时锁定，请稍后再试"

    def __init__(self, *, retry_after: int) -> None:
        super().__init__()
        self.retry_after = max(1, int(retry_after))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class CannotChangeBoss(Forbidden):
    code = "boss_protected"
    message = "不能停用老板账号或更改其角色"


class InvalidRole(DomainError):
    code = "invalid_role"
    message = "角色不存在"
