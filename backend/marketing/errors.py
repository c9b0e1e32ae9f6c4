"""Marketing errors: stable codes, Chinese messages."""

from __future__ import annotations

from backend.errors import Conflict, DomainError, NotFound


class InvalidMarketingInput(DomainError):
    code = "invalid_marketing_input"
    message = "营销活动参数有误"


class CouponNotFound(NotFound):
    code = "coupon_not_found"
    message = "优惠券不存在"


class CouponUnavailable(Conflict):
    code = "coupon_unavailable"
    message = "优惠券已停发或已过期"


class CouponOutOfStock(Conflict):
    code = "coupon_out_of_stock"
    message = "优惠券已领完"


class CouponLimitReached(Conflict):
    code = "coupon_limit_reached"
    message = "已达到该券的领取上限"


class CouponNotUsable(Conflict):
    code = "coupon_not_usable"
    message = "该优惠券不可用于本单"
