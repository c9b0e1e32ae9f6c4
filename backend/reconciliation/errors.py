from backend.errors import Conflict, NotFound


class DifferenceNotFound(NotFound):
    code = "difference_not_found"
    message = "对账差异不存在"


class DifferenceResolved(Conflict):
    code = "difference_resolved"
    message = "该差异已处理"
