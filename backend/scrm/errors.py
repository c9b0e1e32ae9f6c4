from backend.errors import Conflict, DomainError, Forbidden, NotFound


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    message = "客户不存在"


class CustomerNotYours(Forbidden):
    code = "customer_not_yours"
    message = "该客户不归你跟进"


class CustomerExists(Conflict):
    """details carries the existing customer's id when the caller may see it."""

    code = "customer_exists"
    message = "该手机号的客户已存在"


class InvalidCustomerField(DomainError):
    code = "invalid_customer_field"
    http_status = 400
    message = "客户信息有误"


class StaffInactive(Conflict):
    code = "staff_inactive"
    message = "该员工账号已停用"


class StaffCodeExists(Conflict):
    code = "staff_code_exists"
    message = "该员工的小程序码已存在"


class StaffCodeNotFound(NotFound):
    code = "staff_code_not_found"
    message = "员工码不存在"


class WeComUserMissing(Conflict):
    code = "wecom_user_missing"
    message = "请先为该员工设置企业微信账号"


class WeComUserTaken(Conflict):
    code = "wecom_user_taken"
    message = "该企业微信账号已绑定其他员工"


class TagGroupNotFound(NotFound):
    code = "tag_group_not_found"
    message = "标签组不存在"


class TagNotFound(NotFound):
    """details lists the unknown tag ids."""

    code = "tag_not_found"
    message = "标签不存在"


class TagNameTaken(Conflict):
    code = "tag_name_taken"
    message = "名称已存在"


class InvalidTagField(DomainError):
    code = "invalid_tag_field"
    http_status = 400
    message = "标签信息有误"


class InvalidTagRule(DomainError):
    """details lists every problem as {"field", "message"}."""

    code = "invalid_tag_rule"
    http_status = 400
    message = "标签规则有误"


class TagRuleNotFound(NotFound):
    code = "tag_rule_not_found"
    message = "标签规则不存在"


class ReminderNotFound(NotFound):
    code = "reminder_not_found"
    message = "提醒不存在"


class ReminderClosed(Conflict):
    code = "reminder_closed"
    message = "提醒已完成或已取消"


class InvalidReminder(DomainError):
    code = "invalid_reminder"
    http_status = 400
    message = "提醒时间有误"


class InvalidHandover(DomainError):
    code = "invalid_handover"
    http_status = 400
    message = "交接对象有误"


class InvalidPeriod(DomainError):
    code = "invalid_period"
    http_status = 400
    message = "日期范围有误"
