from backend.errors import Conflict, DomainError, Forbidden, NotFound


class InvalidSupplierInput(DomainError):
    code = "invalid_supplier_input"
    http_status = 400
    message = "供应商资料有误"


class SupplierNotFound(NotFound):
    code = "supplier_not_found"
    message = "供应商不存在"


class SupplierNotActive(Forbidden):
    code = "supplier_not_active"
    message = "供应商尚未通过审核或已停用"


class SupplierStateConflict(Conflict):
    code = "supplier_state"
    message = "供应商当前状态不允许此操作"


class SupplierUsernameTaken(Conflict):
    code = "supplier_username_taken"
    message = "登录名已被使用"


class SupplierBadCredentials(DomainError):
    code = "bad_credentials"
    http_status = 401
    message = "账号或密码错误"


class SupplierProductNotFound(NotFound):
    code = "supplier_product_not_found"
    message = "商品不存在或不属于该供应商"


class ProductReviewConflict(Conflict):
    code = "product_review_state"
    message = "商品当前审核状态不允许此操作"


class SubOrderNotFound(NotFound):
    code = "sub_order_not_found"
    message = "订单不存在或不属于该供应商"


class SubOrderStateConflict(Conflict):
    code = "sub_order_state"
    message = "子订单当前状态不允许此操作"


class RefundNotSuppliers(NotFound):
    code = "refund_not_found"
    message = "售后申请不存在或不属于该供应商"


class BankCardMissing(Conflict):
    code = "bank_card_missing"
    message = "请先绑定收款银行卡"


class SupplierWithdrawalNotFound(NotFound):
    code = "withdrawal_not_found"
    message = "提现申请不存在"


class SupplierWithdrawalStateConflict(Conflict):
    code = "withdrawal_state"
    message = "提现申请当前状态不允许此操作"
