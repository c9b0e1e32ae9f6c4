from backend.agents.errors import NotADownline  # noqa: F401  (re-exported: a transfer refusal)
from backend.errors import Conflict, DomainError, NotFound


class InsufficientPieces(Conflict):
    code = "insufficient_pieces"
    message = "云仓库存不足"


class InvalidStockInput(DomainError):
    code = "invalid_stock_input"
    message = "云仓请求有误"


class NoSupplyingUpline(DomainError):
    code = "no_supplying_upline"
    message = "没有可供货的上级代理，请向平台进货"


class RestockLimitExceeded(DomainError):
    code = "restock_limit_exceeded"
    message = "超出该代理等级的进货限额"


class RestockNotFound(NotFound):
    code = "restock_not_found"
    message = "进货单不存在"


class RestockStateConflict(Conflict):
    code = "restock_state_conflict"
    message = "进货单状态不允许此操作"


class TransferNotFound(NotFound):
    code = "transfer_not_found"
    message = "转货记录不存在"


class TransferStateConflict(Conflict):
    code = "transfer_state_conflict"
    message = "转货记录已处理"


class PickupNotFound(NotFound):
    code = "pickup_not_found"
    message = "提货单不存在"


class PickupStateConflict(Conflict):
    code = "pickup_state_conflict"
    message = "提货单状态不允许此操作"


class RestockPiecesMoved(Conflict):
    code = "restock_pieces_moved"
    message = "进货的货已转出、提货或代发，不能退款"


class NotRefundable(Conflict):
    code = "restock_not_refundable"
    message = "进货单的货在云仓中，退款须由品牌在后台办理（货先退出云仓）"
