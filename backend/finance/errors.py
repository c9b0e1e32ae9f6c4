from backend.errors import Conflict, DomainError, Forbidden, NotFound
from backend.ledger.errors import InsufficientBalance

__all__ = ["InsufficientBalance"]


class InvalidFinanceSettings(DomainError):
    code = "invalid_finance_settings"
    http_status = 400
    message = "财务设置有误"


class WithdrawalBelowMinimum(DomainError):
    code = "withdraw_below_minimum"
    http_status = 400
    message = "提现金额低于最低提现金额"


class WithdrawalDailyLimit(Conflict):
    code = "withdraw_daily_limit"
    message = "已超过今日提现限额"


class NegativeBalance(InsufficientBalance):
    """Same code as any shortfall; the message says why."""

    message = "余额为负（退款冲回所致），待后续收益抵扣后方可提现"


class PayeeUnknown(Conflict):
    code = "payee_unknown"
    message = "尚未绑定小程序微信身份，无法提现到微信零钱"


class PayeeNameRequired(DomainError):
    code = "payee_name_required"
    http_status = 400
    message = "单笔提现2000元及以上须填写收款人真实姓名"


class WithdrawalNotFound(NotFound):
    code = "withdrawal_not_found"
    message = "提现申请不存在"


class WithdrawalStateConflict(Conflict):
    code = "withdrawal_state"
    message = "提现申请当前状态不允许此操作"


class TransferDisabled(Forbidden):
    code = "transfer_disabled"
    message = "商户未开启余额转赠"


class TransferInvalid(DomainError):
    code = "transfer_invalid"
    http_status = 400
    message = "转赠对象无效"


class RechargeInvalid(DomainError):
    code = "recharge_invalid"
    http_status = 400
    message = "充值金额无效"


class RechargeNotFound(NotFound):
    code = "recharge_not_found"
    message = "充值单不存在"


class NotificationMismatch(DomainError):
    """A validly signed notification that does not match our record (amount, merchant,
    app, payee): refused and recorded for the operator."""

    code = "notification_mismatch"
    http_status = 400
    message = "通知内容与本地单据不符，已记录待人工核查"


class UnknownBill(NotFound):
    code = "bill_not_found"
    message = "单据不存在"


class DuplicateRequest(Conflict):
    code = "duplicate_request"
    message = "相同的请求正在处理，请稍后查看结果"


class StatementTooLarge(DomainError):
    code = "statement_too_large"
    http_status = 413
    message = "对账单超过 Excel 的行数上限，请缩小时间范围或导出 CSV"
