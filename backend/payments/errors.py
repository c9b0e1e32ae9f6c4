from backend.errors import Conflict, DomainError, NotFound


class PaymentIssueNotFound(NotFound):
    code = "payment_issue_not_found"
    message = "支付异常记录不存在"


class MemberHasNoOpenid(Conflict):
    code = "no_openid"
    message = "请先在小程序中登录后再支付"


class NotificationRefused(DomainError):
    """A validly signed notification that does not fit its order; recorded, not applied."""

    code = "notification_refused"
    http_status = 400
    message = "通知与订单不符"
