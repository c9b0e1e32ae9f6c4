from backend.errors import Conflict, DomainError, Forbidden, NotFound


class InvalidAgentInput(DomainError):
    code = "invalid_agent_input"
    message = "代理资料有误"


class ApplicationNotFound(NotFound):
    code = "application_not_found"
    message = "代理申请不存在"


class ApplicationStateConflict(Conflict):
    code = "application_state_conflict"
    message = "该申请已处理"


class ApplicationPending(Conflict):
    code = "application_pending"
    message = "已有待审核的代理申请"


class NotYourReview(Forbidden):
    code = "not_your_review"
    message = "该申请不由您审核"


class AuthorizationNotFound(NotFound):
    code = "authorization_not_found"
    message = "代理授权不存在"


class NotAnAgent(Forbidden):
    code = "not_an_agent"
    message = "您还不是授权代理"


class AuthorizationInactive(Forbidden):
    code = "authorization_inactive"
    message = "代理授权已暂停或撤销"


class AuthorizationExpired(Forbidden):
    code = "authorization_expired"
    message = "代理授权已过期"


class ProductNotAuthorized(Forbidden):
    code = "product_not_authorized"
    message = "该商品不在代理授权范围内"


class RegionNotAuthorized(Forbidden):
    code = "region_not_authorized"
    message = "该地区不在代理授权范围内"


class CertificateNotFound(NotFound):
    code = "certificate_not_found"
    message = "证书编号不存在，可能是伪造的证书"


class NotADownline(DomainError):
    code = "not_a_downline"
    message = "只能转给自己团队中的下级代理"


class PackageUnpaid(Conflict):
    code = "package_unpaid"
    message = "申请的等级礼包尚未付款，付款后才能审核通过"


class AuthorizationStateConflict(Conflict):
    code = "authorization_state_conflict"
    message = "代理授权当前状态不允许此操作"
