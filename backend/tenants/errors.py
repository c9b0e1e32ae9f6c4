from backend.errors import Conflict, DomainError, NotFound


class TenantNotFound(NotFound):
    code = "tenant_not_found"
    message = "商户不存在"


class TenantSlugTaken(Conflict):
    code = "tenant_slug_taken"
    message = "商户标识已被占用"


class TenantAppidTaken(Conflict):
    code = "tenant_appid_taken"
    message = "该 appid 已被其他商户使用"


class TenantSuspended(DomainError):
    code = "tenant_suspended"
    http_status = 403
    message = "商户已停用"
