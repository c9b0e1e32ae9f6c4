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


class InsufficientPoints(Conflict):
    code = "insufficient_points"
    message = "积分不足"


class PointsOverCap(Conflict):
    code = "points_over_cap"
    message = "超出本单可用积分上限"


class AlreadySignedIn(Conflict):
    code = "already_signed_in"
    message = "今天已经签到过了"


class PointsTaskNotFound(NotFound):
    code = "points_task_not_found"
    message = "任务不存在或已结束"


class PointsTaskDone(Conflict):
    code = "points_task_done"
    message = "该任务已完成"


class WrongTaskCode(DomainError):
    code = "wrong_task_code"
    message = "任务口令不正确"


class InvalidTransfer(DomainError):
    code = "invalid_points_transfer"
    message = "积分转赠有误"


class CampaignNotFound(NotFound):
    code = "group_campaign_not_found"
    message = "拼团活动不存在"


class CampaignClosed(Conflict):
    code = "group_campaign_closed"
    message = "拼团活动未开始或已结束"


class GroupNotFound(NotFound):
    code = "group_not_found"
    message = "拼团不存在"


class GroupFull(Conflict):
    code = "group_full"
    message = "该团已满员"


class GroupExpired(Conflict):
    code = "group_expired"
    message = "该团已结束"


class AlreadyInGroup(Conflict):
    code = "already_in_group"
    message = "你已在该团中"


class GroupNotFilled(Conflict):
    code = "group_not_filled"
    message = "拼团尚未成团，暂不能发货"


class MaterialNotFound(NotFound):
    code = "material_not_found"
    message = "素材不存在"
