from backend.errors import Conflict, DomainError, Forbidden, NotFound


class MemberNotFound(NotFound):
    code = "member_not_found"
    message = "会员不存在"


class InviteCodeUnknown(NotFound):
    code = "invite_code_unknown"
    message = "邀请码不存在"


class InvalidScene(DomainError):
    code = "invalid_scene"
    http_status = 400
    message = "分享参数无效"


class SelfBinding(DomainError):
    code = "self_binding"
    http_status = 400
    message = "不能绑定自己为上级"


class BindingCycle(DomainError):
    code = "binding_cycle"
    http_status = 400
    message = "不能绑定自己的下级为上级"


class AlreadyBound(Conflict):
    code = "already_bound"
    message = "已绑定上级，不可更换"


class ParentNotPromoter(DomainError):
    code = "parent_not_promoter"
    http_status = 400
    message = "对方还不是推广员，无法绑定"


class MemberFrozen(Forbidden):
    code = "member_frozen"
    message = "账号已被冻结，请联系商家"


class PromoterApplicationsClosed(Forbidden):
    code = "promoter_applications_closed"
    message = "本品牌暂未开放推广员申请"


class AlreadyPromoter(Conflict):
    code = "already_promoter"
    message = "您已经是推广员了"


class PromoterApplicationPending(Conflict):
    code = "promoter_application_pending"
    message = "您的申请正在审核中，请耐心等待"


class PromoterApplicationNotFound(NotFound):
    code = "promoter_application_not_found"
    message = "申请不存在"


class PromoterApplicationDecided(Conflict):
    code = "promoter_application_decided"
    message = "该申请已处理"


class RejectReasonRequired(DomainError):
    code = "reject_reason_required"
    http_status = 400
    message = "驳回时请填写原因"
