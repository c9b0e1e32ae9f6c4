from backend.auth.lockout import LoginLocked as LoginLocked  # raised by staff.login
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


class CannotChangeBoss(Forbidden):
    code = "boss_protected"
    message = "不能停用老板账号或更改其角色"


class InvalidRole(DomainError):
    code = "invalid_role"
    message = "角色不存在"
