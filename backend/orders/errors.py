from backend.errors import Conflict, DomainError, NotFound


class OrderNotFound(NotFound):
    code = "order_not_found"
    message = "订单不存在"


class RefundNotFound(NotFound):
    code = "refund_not_found"
    message = "退款单不存在"


class OrderStateConflict(Conflict):
    """The order is not in a state that allows this step; details name the state."""

    code = "order_state_conflict"
    message = "订单当前状态不允许此操作"


class OrderExpired(Conflict):
    code = "order_expired"
    message = "订单已超过支付时限"


class NothingToRefund(Conflict):
    code = "nothing_to_refund"
    message = "没有可退款的商品"


class RefundStateConflict(Conflict):
    code = "refund_state_conflict"
    message = "退款单当前状态不允许此操作"


class InvalidOrderInput(DomainError):
    code = "invalid_order_input"
    http_status = 400
    message = "订单信息有误"
