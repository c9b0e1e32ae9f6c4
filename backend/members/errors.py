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
