from backend.errors import Conflict, DomainError, NotFound


class UnknownCode(NotFound):
    code = "unknown_code"
    message = "防伪码不存在，该商品可能是假冒产品，请谨慎购买"


class InvalidCodeInput(DomainError):
    code = "invalid_code_input"
    message = "防伪码请求有误"


class BatchNotFound(NotFound):
    code = "batch_not_found"
    message = "防伪码批次不存在"


class RangeTaken(Conflict):
    code = "code_range_taken"
    message = "部分防伪码已分配给其他发货单"


class CaseNotFound(NotFound):
    code = "case_not_found"
    message = "窜货记录不存在"
