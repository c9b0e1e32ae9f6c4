from backend.errors import Conflict, NotFound, Unauthorized


class BadCredentials(Unauthorized):
    code = "bad_credentials"
    message = "用户名或密码错误"


class StaffNotFound(NotFound):
    code = "staff_not_found"
    message = "员工不存在"


class UsernameTaken(Conflict):
    code = "username_taken"
    message = "用户名已存在"
