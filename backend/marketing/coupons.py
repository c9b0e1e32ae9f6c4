"""Coupon verbs (优惠券): the brand creates coupons; members claim them (coupon centre,
product page), staff grant them, flows give them (new-member gift, invite reward, the
bot); checkout redeems one per order and a cancelled or refunded order gives it back.

Keyword-only functions that never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from backend.audit.service import record_audit
from backend.db import newest_first, rowcount
from backend.extensions import db
from backend.marketing.errors import (
    CouponLimitReached,
    CouponNotFound,
    CouponNotUsable,
    CouponOutOfStock,
    CouponUnavailable,
    InvalidMarketingInput,
)
from backend.marketing.models import ISSUE_SOURCES, Coupon, MarketingPolicy, MemberCoupon
from backend.marketing.pricing import (
    COUPON_KINDS,
    SCOPES,
    CouponResult,
    CouponRule,
    Line,
    coupon_discount,
    eligible,
)
from backend.marketing.types import HeldCouponStatus, OfferStatus
from backend.money import as_rate, yuan

MAX_STOCK = 10_000_000
MAX_PER_MEMBER = 100


@dataclass(frozen=True)
class CouponSpec:
    name: str
    kind: str
    total_stock: int
    amount_off_fen: int = 0
    percent_off: str | None = None
    max_discount_fen: int | None = None
    threshold_fen: int = 0
    scope: str = "all"
    product_ids: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None
    per_member_limit: int = 1
    claimable: bool = True


# ------------------------------------------------------------------ policy


def policy(*, tenant_id: int) -> MarketingPolicy:
    """The tenant's marketing rules (the defaults, unsaved, when it never set them)."""
    row = db.session.scalar(select(MarketingPolicy).where(MarketingPolicy.tenant_id == tenant_id))
    return row or MarketingPolicy(tenant_id=tenant_id, return_coupon_on_refund=True, point_value_fen=1,
                                  points_max_ratio="0.5", earn_points_per_yuan=1, signin_points=5, bind_points=10,
                                  points_expire_days=365)


def policy_view(p: MarketingPolicy) -> dict[str, Any]:
    return {"return_coupon_on_refund": p.return_coupon_on_refund, "new_member_coupon_id": p.new_member_coupon_id,
            "invite_coupon_id": p.invite_coupon_id}


def update_policy(*, tenant_id: int, changes: Mapping[str, Any], actor: str) -> MarketingPolicy:
    """Change the coupon rules: refunds return coupons, the new-member and invite coupons (audited)."""
    for key in ("new_member_coupon_id", "invite_coupon_id"):
        if changes.get(key) is not None:
            get_coupon(tenant_id=tenant_id, coupon_id=changes[key])
    row = policy(tenant_id=tenant_id)
    before = policy_view(row)
    if row.id is None:
        db.session.add(row)
    for key in ("return_coupon_on_refund", "new_member_coupon_id", "invite_coupon_id"):
        if key in changes:
            setattr(row, key, changes[key])
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="marketing.policy", target_type="tenant",
                 target_id=tenant_id, before=before, after=policy_view(row))
    return row


# ------------------------------------------------------------------ the brand's coupons


def _spec_errors(spec: CouponSpec) -> list[dict[str, str]]:
    errors = []
    if not 1 <= len(spec.name.strip()) <= 60:
        errors.append({"field": "name", "message": "名称须为 1–60 个字符"})
    if spec.kind not in COUPON_KINDS:
        errors.append({"field": "kind", "message": "类型须为 amount、percent、threshold 或 shipping"})
    if spec.kind in ("amount", "threshold") and spec.amount_off_fen < 1:
        errors.append({"field": "amount_off_fen", "message": "减免金额须至少 1 分"})
    if spec.kind == "threshold" and spec.threshold_fen <= spec.amount_off_fen:
        errors.append({"field": "threshold_fen", "message": "满减门槛须高于减免金额"})
    if spec.kind == "percent":
        try:
            rate = as_rate(spec.percent_off or "")
        except (TypeError, ValueError):
            rate = None
        if rate is None or not 0 < rate < 1:
            errors.append({"field": "percent_off", "message": "折扣须为 0 到 1 之间的小数，如 0.15 表示减 15%"})
        if spec.max_discount_fen is not None and spec.max_discount_fen < 1:
            errors.append({"field": "max_discount_fen", "message": "封顶金额须至少 1 分"})
    if spec.scope not in SCOPES:
        errors.append({"field": "scope", "message": "适用范围须为 all、products、categories 或 excluded"})
    if spec.scope in ("products", "excluded") and not spec.product_ids:
        errors.append({"field": "product_ids", "message": "请选择商品"})
    if spec.scope == "categories" and not spec.categories:
        errors.append({"field": "categories", "message": "请选择分类"})
    fixed = spec.valid_from is not None and spec.valid_until is not None
    if fixed == (spec.valid_days is not None):
        errors.append({"field": "validity", "message": "有效期须为固定日期或领取后 N 天，二选一"})
    elif fixed and spec.valid_until <= spec.valid_from:  # type: ignore[operator]
        errors.append({"field": "valid_until", "message": "结束时间须晚于开始时间"})
    elif spec.valid_days is not None and not 1 <= spec.valid_days <= 3650:
        errors.append({"field": "valid_days", "message": "领取后有效天数须为 1–3650"})
    if not 1 <= spec.total_stock <= MAX_STOCK:
        errors.append({"field": "total_stock", "message": f"发行量须为 1–{MAX_STOCK}"})
    if not 1 <= spec.per_member_limit <= MAX_PER_MEMBER:
        errors.append({"field": "per_member_limit", "message": f"每人限领须为 1–{MAX_PER_MEMBER}"})
    return errors


def create_coupon(*, tenant_id: int, spec: CouponSpec, actor: str) -> Coupon:
    """Create a coupon (audited)."""
    errors = _spec_errors(spec)
    if errors:
        raise InvalidMarketingInput(details=errors)
    row = Coupon(tenant_id=tenant_id, name=spec.name.strip(), kind=spec.kind, amount_off_fen=spec.amount_off_fen,
                 percent_off=str(as_rate(spec.percent_off)) if spec.kind == "percent" and spec.percent_off else None,
                 max_discount_fen=spec.max_discount_fen if spec.kind == "percent" else None,
                 threshold_fen=spec.threshold_fen, scope=spec.scope,
                 scope_product_ids=sorted(set(spec.product_ids)) or None,
                 scope_categories=sorted(set(spec.categories)) or None, valid_from=spec.valid_from,
                 valid_until=spec.valid_until, valid_days=spec.valid_days, total_stock=spec.total_stock, issued=0,
                 per_member_limit=spec.per_member_limit, claimable=spec.claimable, status=OfferStatus.ACTIVE)
    db.session.add(row)
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="marketing.coupon_create", target_type="coupon",
                 target_id=row.id, before=None, after=coupon_view(row))
    return row


def set_coupon_status(*, tenant_id: int, coupon_id: int, status: str, actor: str) -> Coupon:
    """Stop issuing a coupon, or resume (audited). Coupons already held stay usable."""
    if status not in (OfferStatus.ACTIVE, OfferStatus.STOPPED):
        raise InvalidMarketingInput(details=[{"field": "status", "message": "状态须为 active 或 stopped"}])
    row = get_coupon(tenant_id=tenant_id, coupon_id=coupon_id)
    before = row.status
    row.status = status
    record_audit(tenant_id=tenant_id, actor=actor, action="marketing.coupon_status", target_type="coupon",
                 target_id=row.id, before={"status": before}, after={"status": status})
    return row


def get_coupon(*, tenant_id: int, coupon_id: int) -> Coupon:
    row = db.session.scalar(select(Coupon).where(Coupon.tenant_id == tenant_id, Coupon.id == coupon_id))
    if row is None:
        raise CouponNotFound()
    return row


def list_coupons(*, tenant_id: int, before_id: int | None = None, limit: int = 50) -> list[Coupon]:
    """The brand's coupons, newest first."""
    return newest_first(Coupon, tenant_id=tenant_id, before_id=before_id, limit=limit, where={})


def used_counts(*, tenant_id: int, coupon_ids: Sequence[int]) -> dict[int, int]:
    """How many of each coupon were used on orders (not returned)."""
    if not coupon_ids:
        return {}
    rows = db.session.execute(select(MemberCoupon.coupon_id, func.count()).where(
        MemberCoupon.tenant_id == tenant_id, MemberCoupon.coupon_id.in_(coupon_ids),
        MemberCoupon.status == HeldCouponStatus.USED).group_by(MemberCoupon.coupon_id)).tuples()
    return dict(rows.all())


def _is_issuable(c: Coupon, now: datetime) -> bool:
    return c.status == OfferStatus.ACTIVE and c.issued < c.total_stock and (c.valid_until is None or c.valid_until > now)


def claimable_coupons(*, tenant_id: int, now: datetime, product_id: int | None = None,
                      category: str = "", limit: int = 50) -> list[Coupon]:
    """Coupons open for claiming (the coupon centre; with product_id, those that cover it)."""
    rows = db.session.scalars(select(Coupon).where(
        Coupon.tenant_id == tenant_id, Coupon.status == OfferStatus.ACTIVE, Coupon.claimable.is_(True),
        Coupon.issued < Coupon.total_stock).order_by(Coupon.id.desc()).limit(200))
    out = [c for c in rows if _is_issuable(c, now)]
    if product_id is not None:
        line = Line(key=0, product_id=product_id, category=category, amount_fen=1)
        out = [c for c in out if eligible(rule_of(c), line)]
    return out[:limit]


def rule_of(c: Coupon) -> CouponRule:
    """The coupon's pricing rule (pure)."""
    return CouponRule(kind=c.kind, amount_off_fen=c.amount_off_fen,
                      percent_off=as_rate(c.percent_off) if c.percent_off else None,
                      max_discount_fen=c.max_discount_fen, threshold_fen=c.threshold_fen, scope=c.scope,
                      product_ids=frozenset(c.scope_product_ids or ()),
                      categories=frozenset(c.scope_categories or ()))


def coupon_view(c: Coupon, *, used: int | None = None) -> dict[str, Any]:
    out = {"id": c.id, "name": c.name, "kind": c.kind, "amount_off_fen": c.amount_off_fen,
           "percent_off": c.percent_off, "max_discount_fen": c.max_discount_fen, "threshold_fen": c.threshold_fen,
           "scope": c.scope, "product_ids": c.scope_product_ids or [], "categories": c.scope_categories or [],
           "valid_from": c.valid_from.isoformat() if c.valid_from else None,
           "valid_until": c.valid_until.isoformat() if c.valid_until else None, "valid_days": c.valid_days,
           "total_stock": c.total_stock, "issued": c.issued, "remaining": c.total_stock - c.issued,
           "per_member_limit": c.per_member_limit, "claimable": c.claimable, "status": c.status,
           "description": describe(c)}
    if used is not None:
        out["used"] = used
    return out


def describe(c: Coupon) -> str:
    """The coupon's rule in a buyer's words."""
    if c.kind == "shipping":
        text = "免运费"
    elif c.kind == "percent":
        text = f"减 {as_rate(c.percent_off or '0') * 100:g}%"
        if c.max_discount_fen is not None:
            text += f"，最多减 {yuan(c.max_discount_fen)} 元"
    else:
        text = f"减 {yuan(c.amount_off_fen)} 元"
    if c.threshold_fen:
        text = f"满 {yuan(c.threshold_fen)} 元" + text
    return text


# ------------------------------------------------------------------ issuing

def issue_coupon(*, tenant_id: int, coupon_id: int, member_id: int, source: str, now: datetime,
                 issue_key: str | None = None, issued_by: str | None = None) -> MemberCoupon:
    """Give one coupon to a member: one piece of stock (never more than issued), one of the
    member's slots (never past the per-member limit). With an issue_key, issuing again
    for the same event returns the coupon given the first time."""
    if source not in ISSUE_SOURCES:
        raise ValueError(source)
    if issue_key is not None:
        held = db.session.scalar(select(MemberCoupon).where(MemberCoupon.tenant_id == tenant_id,
                                                            MemberCoupon.issue_key == issue_key))
        if held is not None:
            return held
    coupon = get_coupon(tenant_id=tenant_id, coupon_id=coupon_id)
    if source == "claim" and not coupon.claimable:
        raise CouponUnavailable("该券不可自行领取")
    if coupon.status != OfferStatus.ACTIVE or (coupon.valid_until is not None and coupon.valid_until <= now):
        raise CouponUnavailable()
    # The stock: one guarded UPDATE (it also serializes every issuer of this coupon).
    taken = rowcount(db.session.execute(
        update(Coupon).where(Coupon.tenant_id == tenant_id, Coupon.id == coupon_id, Coupon.status == OfferStatus.ACTIVE,
                             Coupon.issued < Coupon.total_stock)
        .values(issued=Coupon.issued + 1).execution_options(synchronize_session=False)))
    if taken != 1:
        raise CouponOutOfStock()
    db.session.expire(coupon, ["issued"])
    # The member's slots, read with a locking read (the latest committed, not a snapshot).
    slots = set(db.session.scalars(select(MemberCoupon.slot).where(
        MemberCoupon.tenant_id == tenant_id, MemberCoupon.coupon_id == coupon_id,
        MemberCoupon.member_id == member_id).with_for_update()))
    free = [s for s in range(1, coupon.per_member_limit + 1) if s not in slots]
    if not free:
        raise CouponLimitReached(f"该券每人限领 {coupon.per_member_limit} 张")
    if coupon.valid_days is not None:
        start, end = now, now + timedelta(days=coupon.valid_days)
    else:
        start, end = coupon.valid_from or now, coupon.valid_until or now
    held = MemberCoupon(tenant_id=tenant_id, coupon_id=coupon_id, member_id=member_id, slot=free[0], source=source,
                        issue_key=issue_key, issued_by=issued_by, status=HeldCouponStatus.UNUSED, valid_from=start, valid_until=end,
                        claimed_at=now)
    db.session.add(held)
    db.session.flush()
    return held


def grant_coupon(*, tenant_id: int, coupon_id: int, member_id: int, actor: str, now: datetime) -> MemberCoupon:
    """Staff give a coupon to a member (audited); stock and the per-member limit apply."""
    held = issue_coupon(tenant_id=tenant_id, coupon_id=coupon_id, member_id=member_id, source="grant", now=now,
                        issued_by=actor[:40])
    record_audit(tenant_id=tenant_id, actor=actor, action="marketing.coupon_grant", target_type="member",
                 target_id=member_id, before=None, after={"coupon_id": coupon_id, "member_coupon_id": held.id})
    return held


def gift_coupon(*, tenant_id: int, coupon_id: int | None, member_id: int, source: str, issue_key: str,
                now: datetime) -> MemberCoupon | None:
    """An automatic gift (new member, invite reward): given once per event, skipped
    without an error when the coupon is stopped, gone or the member holds enough."""
    if coupon_id is None:
        return None
    try:
        with db.session.begin_nested():
            return issue_coupon(tenant_id=tenant_id, coupon_id=coupon_id, member_id=member_id, source=source,
                                now=now, issue_key=issue_key)
    except (CouponNotFound, CouponUnavailable, CouponOutOfStock, CouponLimitReached):
        return None


# ------------------------------------------------------------------ holding and using


def member_coupons(*, tenant_id: int, member_id: int, status: str | None = None,
                   before_id: int | None = None, limit: int = 50) -> list[MemberCoupon]:
    """The coupons a member holds, newest first."""
    return newest_first(MemberCoupon, tenant_id=tenant_id, before_id=before_id, limit=limit,
                        where={MemberCoupon.member_id: member_id, MemberCoupon.status: status})


def coupons_by_id(*, tenant_id: int, ids: Sequence[int]) -> dict[int, Coupon]:
    if not ids:
        return {}
    return {c.id: c for c in db.session.scalars(select(Coupon).where(Coupon.tenant_id == tenant_id,
                                                                     Coupon.id.in_(sorted(set(ids)))))}


def held_view(h: MemberCoupon, coupon: Coupon, *, now: datetime) -> dict[str, Any]:
    state = h.status
    if state == "unused" and h.valid_until <= now:
        state = "expired"
    return {"id": h.id, "coupon_id": h.coupon_id, "name": coupon.name, "description": describe(coupon),
            "kind": coupon.kind, "status": state, "source": h.source, "valid_from": h.valid_from.isoformat(),
            "valid_until": h.valid_until.isoformat(), "order_id": h.order_id, "discount_fen": h.discount_fen}


@dataclass(frozen=True)
class CouponOption:
    member_coupon_id: int
    name: str
    description: str
    result: CouponResult


def options_for(*, tenant_id: int, member_id: int, lines: Sequence[Line], freight_fen: int,
                now: datetime) -> list[CouponOption]:
    """Every unused, valid coupon the member holds, with what it would take off these
    lines; the usable ones first, the biggest discount first."""
    held = list(db.session.scalars(select(MemberCoupon).where(
        MemberCoupon.tenant_id == tenant_id, MemberCoupon.member_id == member_id, MemberCoupon.status == HeldCouponStatus.UNUSED,
        MemberCoupon.valid_from <= now, MemberCoupon.valid_until > now).order_by(MemberCoupon.id).limit(200)))
    coupons = coupons_by_id(tenant_id=tenant_id, ids=[h.coupon_id for h in held])
    out = [CouponOption(h.id, coupons[h.coupon_id].name, describe(coupons[h.coupon_id]),
                        coupon_discount(rule_of(coupons[h.coupon_id]), lines, freight_fen=freight_fen))
           for h in held]
    out.sort(key=lambda o: (-o.result.discount_fen, o.member_coupon_id))
    return out


def redeem(*, tenant_id: int, member_id: int, member_coupon_id: int, order_id: int, discount_fen: int,
           now: datetime) -> None:
    """Use a held coupon on an order, once: a guarded UPDATE, so two checkouts racing
    with one coupon cannot both have it."""
    done = rowcount(db.session.execute(update(MemberCoupon).where(
        MemberCoupon.tenant_id == tenant_id, MemberCoupon.id == member_coupon_id,
        MemberCoupon.member_id == member_id, MemberCoupon.status == HeldCouponStatus.UNUSED, MemberCoupon.valid_until > now)
        .values(status=HeldCouponStatus.USED, order_id=order_id, discount_fen=discount_fen, used_at=now)
        .execution_options(synchronize_session=False)))
    if done != 1:
        raise CouponNotUsable("优惠券已使用或已过期")


def return_for_order(*, tenant_id: int, order_id: int, now: datetime, refund: bool) -> int:
    """Give back the coupon an order used, once (the guarded UPDATE finds it used only
    the first time). A cancelled unpaid order always returns it; a refunded one only
    by the tenant's rule and while the coupon is still valid. Returns how many."""
    if refund and not policy(tenant_id=tenant_id).return_coupon_on_refund:
        return 0
    stmt = update(MemberCoupon).where(MemberCoupon.tenant_id == tenant_id, MemberCoupon.order_id == order_id,
                                      MemberCoupon.status == HeldCouponStatus.USED)
    if refund:
        stmt = stmt.where(MemberCoupon.valid_until > now)
    return int(rowcount(db.session.execute(stmt.values(status=HeldCouponStatus.UNUSED, order_id=None, discount_fen=0, used_at=None,
                                              returned_at=now).execution_options(synchronize_session=False))))


def check_usable(option: CouponOption | None) -> CouponOption:
    """The chosen coupon, or CouponNotUsable with the reason."""
    if option is None:
        raise CouponNotUsable("优惠券不存在、已使用或已过期")
    if option.result.discount_fen <= 0:
        raise CouponNotUsable(f"该优惠券不可用于本单：{option.result.reason}")
    return option


def order_discount(*, tenant_id: int, order_id: int) -> int:
    """What the coupon used on this order took off (0 when none or returned)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(MemberCoupon.discount_fen), 0)).where(
        MemberCoupon.tenant_id == tenant_id, MemberCoupon.order_id == order_id, MemberCoupon.status == HeldCouponStatus.USED)) or 0)
