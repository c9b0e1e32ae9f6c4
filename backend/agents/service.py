"""Agent channel verbs: the tenant's channel policy, applications and their review,
authorizations (levels, products, regions, validity, suspension, revocation) and
certificates. Keyword-only, never commit; every staff change is audited.

Levels are the reward plan's agent levels (backend/rewards): an approval sets the
member's level there too, so rewards and prices follow the authorization.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, select

from backend.agents import rules
from backend.agents.errors import (
    ApplicationNotFound,
    ApplicationPending,
    ApplicationStateConflict,
    AuthorizationExpired,
    AuthorizationInactive,
    AuthorizationNotFound,
    AuthorizationStateConflict,
    CertificateNotFound,
    InvalidAgentInput,
    NotADownline,
    NotAnAgent,
    NotYourReview,
    ProductNotAuthorized,
    RegionNotAuthorized,
)
from backend.agents.models import Application, Authorization, Certificate, ChannelSettings
from backend.agents.types import ApplicationStatus, AuthorizationStatus, CertificateStatus, PackageStatus
from backend.audit.service import record_audit
from backend.catalog import service as catalog
from backend.extensions import db
from backend.members import service as members
from backend.process_cache import ProcessCache
from backend.rewards import service as rewards
from backend.rewards.errors import NoActivePlan

REVIEW_BY = ("hq", "upline")
SETTLEMENT_MODES = ("platform", "upline")
SHORTAGE_POLICIES = ("refuse", "platform")
PACKAGE_PAYMENTS = ("before_review", "on_approval")
RESTOCK_REFUNDS = ("none", "whole", "lines")


# ------------------------------------------------------------------ policy


def get_settings(*, tenant_id: int) -> ChannelSettings:
    """The tenant's channel policy (an unsaved default row when it never set one)."""
    row = db.session.scalar(select(ChannelSettings).where(ChannelSettings.tenant_id == tenant_id))
    if row is None:
        row = ChannelSettings(tenant_id=tenant_id, review_by="hq", settlement_mode="platform",
                              dropship_shortage="refuse", transfer_confirmation=False, pickup_freight_fen=0,
                              certificate_days=365, restock_limits=None, package_payment="before_review",
                              restock_refund="whole")
    return row


@dataclass(frozen=True)
class RestockPolicy:
    """What a restock reads of the channel policy: who is paid (platform | upline) and
    the pieces per restock allowed by level key ({"l1": {"min_pieces": 10, "max_pieces": 5000}})."""

    settlement_mode: str
    restock_limits: Mapping[str, Mapping[str, int]]


# Every restock read the policy row; it is kept per process for POLICY_TTL_SECONDS (a
# change saved through this process is seen at once, one saved by another within that
# time: backend/process_cache.py). Short on purpose: it is how long an old settlement
# mode or limit can still be applied to a new restock.
POLICY_TTL_SECONDS = 2.0
_RESTOCK_POLICY: ProcessCache[RestockPolicy] = ProcessCache("restock_policy", POLICY_TTL_SECONDS)
_RESTOCK_POLICY.forget_on_change(ChannelSettings, lambda row: row.tenant_id)


def restock_policy(*, tenant_id: int) -> RestockPolicy:
    """The tenant's settlement mode and restock limits, as saved at most
    POLICY_TTL_SECONDS ago (at once when saved through this process)."""
    def load() -> RestockPolicy:
        row = get_settings(tenant_id=tenant_id)
        return RestockPolicy(row.settlement_mode, {k: dict(v) for k, v in (row.restock_limits or {}).items()})

    return _RESTOCK_POLICY.get(tenant_id, load)


def settings_view(s: ChannelSettings) -> dict[str, Any]:
    return {"review_by": s.review_by, "settlement_mode": s.settlement_mode,
            "dropship_shortage": s.dropship_shortage, "transfer_confirmation": s.transfer_confirmation,
            "pickup_freight_fen": s.pickup_freight_fen, "certificate_days": s.certificate_days,
            "restock_limits": s.restock_limits or {}, "package_payment": s.package_payment,
            "restock_refund": s.restock_refund}


def update_settings(*, tenant_id: int, changes: Mapping[str, Any], actor: str, now: datetime) -> ChannelSettings:
    """Change the channel policy (audited); level keys are checked against the plan."""
    errors = []
    if "review_by" in changes and changes["review_by"] not in REVIEW_BY:
        errors.append({"field": "review_by", "message": "审核方须为 hq 或 upline"})
    if "settlement_mode" in changes and changes["settlement_mode"] not in SETTLEMENT_MODES:
        errors.append({"field": "settlement_mode", "message": "结算模式须为 platform 或 upline"})
    if "dropship_shortage" in changes and changes["dropship_shortage"] not in SHORTAGE_POLICIES:
        errors.append({"field": "dropship_shortage", "message": "库存不足策略须为 refuse 或 platform"})
    if "package_payment" in changes and changes["package_payment"] not in PACKAGE_PAYMENTS:
        errors.append({"field": "package_payment", "message": "礼包收款方式须为 before_review 或 on_approval"})
    if "restock_refund" in changes and changes["restock_refund"] not in RESTOCK_REFUNDS:
        errors.append({"field": "restock_refund", "message": "进货退款规则须为 none、whole 或 lines"})
    limits = changes.get("restock_limits")
    if limits is not None:
        known = set(_plan_levels(tenant_id))
        for key, rule in limits.items():
            if key not in known:
                errors.append({"field": f"restock_limits.{key}", "message": f"方案中没有代理等级：{key}"})
            lo, hi = rule.get("min_pieces", 0), rule.get("max_pieces")
            if hi is not None and hi < lo:
                errors.append({"field": f"restock_limits.{key}", "message": "最大进货量不能小于最小进货量"})
    if errors:
        raise InvalidAgentInput(details=errors)
    row = get_settings(tenant_id=tenant_id)
    before = settings_view(row)
    for key, value in changes.items():
        setattr(row, key, value)
    row.updated_at = now
    db.session.add(row)
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="agents.settings", target_type="tenant",
                 target_id=tenant_id, before=before, after=settings_view(row))
    return row


# ------------------------------------------------------------------ levels


@dataclass(frozen=True)
class Level:
    key: str
    name: str
    rank: int  # 1 = lowest


def _plan_levels(tenant_id: int, *, kept: bool = False) -> dict[str, Level]:
    """The active plan's levels; `kept`: as known at most rewards.PLAN_TTL_SECONDS ago."""
    try:
        plan = (rewards.active_plan_kept if kept else rewards.get_active_plan)(tenant_id=tenant_id)
    except NoActivePlan:
        return {}
    return {k: Level(k, lv.name, lv.rank) for k, lv in plan.level_by_key.items()}


def levels(*, tenant_id: int) -> dict[str, Level]:
    """The agent levels of the active reward plan, by key."""
    return _plan_levels(tenant_id)


def level_of(*, tenant_id: int, key: str) -> Level:
    """One level of the plan, or InvalidAgentInput."""
    found = _plan_levels(tenant_id).get(key)
    if found is None:
        raise InvalidAgentInput(f"代理等级不存在：{key}", details=[{"field": "level", "message": "方案中没有该等级"}])
    return found


# ------------------------------------------------------------------ authorizations


def find_authorization(*, tenant_id: int, member_id: int, lock: bool = False) -> Authorization | None:
    stmt = select(Authorization).where(Authorization.tenant_id == tenant_id, Authorization.member_id == member_id)
    return db.session.scalar(stmt.with_for_update() if lock else stmt)


def get_authorization(*, tenant_id: int, authorization_id: int, lock: bool = False) -> Authorization:
    stmt = select(Authorization).where(Authorization.tenant_id == tenant_id, Authorization.id == authorization_id)
    row = db.session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        raise AuthorizationNotFound()
    return row


def list_authorizations(*, tenant_id: int, status: str | None = None, after_id: int = 0,
                        limit: int = 50) -> list[Authorization]:
    stmt = select(Authorization).where(Authorization.tenant_id == tenant_id, Authorization.id > after_id)
    if status:
        stmt = stmt.where(Authorization.status == status)
    return list(db.session.scalars(stmt.order_by(Authorization.id).limit(limit)))


def active_agent(*, tenant_id: int, member_id: int, now: datetime) -> Authorization:
    """The member's authorization if it is active and in force; else a clear refusal."""
    return _in_force(find_authorization(tenant_id=tenant_id, member_id=member_id), now)


region_matches = rules.region_matches


def outside_products(tenant_id: int, auth: Any, product_ids: Sequence[int]) -> list[int]:
    """The products (of these) the authorization (a row, or a read of its columns) does
    not cover: by id or by category (the categories read only when it lists some)."""
    if rules.covers_everything(auth.product_ids, auth.categories):
        return []
    category_of = (catalog.product_categories(tenant_id=tenant_id, product_ids=product_ids)
                   if auth.categories else {})
    return rules.outside_products(auth.product_ids, auth.categories, product_ids, category_of)


def _refuse_outside(tenant_id: int, auth: Any, product_ids: Sequence[int], whose: str = "") -> None:
    outside = outside_products(tenant_id, auth, product_ids)
    if outside:
        names = "、".join(p.name for p in catalog.products_by_ids(tenant_id=tenant_id, product_ids=outside))
        raise ProductNotAuthorized(f"{whose}代理授权不含{('商品：' + names) if names else '该商品'}",
                                   details={"product_ids": outside})


def address_matches(regions: Sequence[Mapping[str, Any]] | None, address: str) -> bool:
    """Whether a free-text Chinese address lies in the regions (its province and city appear in it)."""
    if regions is None:
        return True
    return any(rules.short_place(r.get("province")) in address
               and (not r.get("city") or rules.short_place(r["city"]) in address) for r in regions if r.get("province"))


def check_can_sell(*, tenant_id: int, member_id: int, product_ids: Sequence[int], now: datetime,
                   province: str | None = None, city: str | None = None, address: str | None = None,
                   auth: Authorization | None = None) -> Authorization:
    """An agent may sell (or hold stock of) these products in this region now: active,
    in force, the products and the region inside its authorization. `auth`: the
    member's authorization when the caller has just read it (not read again)."""
    auth = _in_force(auth, now) if auth is not None else active_agent(tenant_id=tenant_id, member_id=member_id,
                                                                       now=now)
    _refuse_outside(tenant_id, auth, product_ids)
    if address is not None and not address_matches(auth.regions, address):
        raise RegionNotAuthorized(details={"regions": auth.regions})
    if province is not None and not region_matches(auth.regions, province, city):
        raise RegionNotAuthorized(details={"regions": auth.regions})
    return auth


def _in_force(auth: Authorization | None, now: datetime) -> Authorization:
    if auth is None:
        raise NotAnAgent()
    if auth.status != AuthorizationStatus.ACTIVE:
        raise AuthorizationInactive(f"代理授权{'已暂停' if auth.status == AuthorizationStatus.SUSPENDED else '已撤销'}")
    if not auth.valid_from <= now < auth.valid_until:
        raise AuthorizationExpired(f"代理授权已于 {auth.valid_until:%Y-%m-%d} 过期")
    return auth


def _selling_facts() -> tuple[Any, ...]:
    """What deciding whether an agent may sell or supply needs of its authorization
    (_in_force, outside_products, the regions, the level): the hot reads take only these
    columns, not the holder's name, the reason or the timestamps."""
    a = Authorization.__table__
    return (a.c.member_id, a.c.level, a.c.status, a.c.valid_from, a.c.valid_until, a.c.product_ids,
            a.c.categories, a.c.regions)


def _buyer_read() -> Any:
    a = Authorization.__table__
    tenant_id: BindParameter[Any] = bindparam("tenant_id")
    member_id: BindParameter[Any] = bindparam("member_id")
    return select(*_selling_facts(), *members.buyer_facts_of(tenant_id=tenant_id, member_id=member_id)).where(
        a.c.tenant_id == tenant_id, a.c.member_id == member_id)


# Built once: a restock runs it on every request (Core, on the unit of work's connection).
_BUYER_READ = _buyer_read()


def agent_buying(*, tenant_id: int, member_id: int, now: datetime) -> Any:
    """An agent about to buy (a restock): its authorization in force (else the same
    refusals as active_agent) with what its order needs of the member — `buyer_path`,
    `buyer_agent_level`, `buyer_member_level` — in one read. A plain row of the
    authorization's selling facts (_selling_facts) plus those three, not an ORM object:
    read it, don't change it."""
    db.session.flush()  # a Core read does not autoflush: an authorization changed in this unit of work counts
    row = db.session.connection().execute(_BUYER_READ, {"tenant_id": tenant_id, "member_id": member_id}).first()
    return _in_force(row, now)  # type: ignore[arg-type]  # the row's columns suffice


def _transfer_read() -> Any:
    a, s = Authorization.__table__, ChannelSettings.__table__
    tenant_id: BindParameter[Any] = bindparam("tenant_id")
    return select(
        a.c.member_id, a.c.status, a.c.valid_from, a.c.valid_until, a.c.product_ids, a.c.categories,
        members.path_of(tenant_id=tenant_id, member_id=bindparam("to_id")).label("to_path"),
        select(s.c.transfer_confirmation).where(s.c.tenant_id == tenant_id).scalar_subquery().label("confirm"),
    ).where(a.c.tenant_id == tenant_id, a.c.member_id.in_([bindparam("from_id"), bindparam("to_id")]))


# Built once: a transfer runs it on every request (Core, on the unit of work's connection).
_TRANSFER_READ = _transfer_read()


def check_can_transfer(*, tenant_id: int, from_id: int, to_id: int, product_id: Callable[[], int],
                       now: datetime) -> bool:
    """Both agents in force and authorized for the product, the receiver in the sender's
    team (any depth). One read: both authorizations, the receiver's path and the
    tenant's policy, which is returned: whether the receiver confirms transfers.
    `product_id` is asked for only when an authorization lists products."""
    rows = db.session.connection().execute(_TRANSFER_READ, {"tenant_id": tenant_id, "from_id": from_id,
                                                            "to_id": to_id}).all()
    found = {r.member_id: r for r in rows}
    sender = _in_force(found.get(from_id), now)  # type: ignore[arg-type]  # the row's columns suffice
    if not rules.covers_everything(sender.product_ids, sender.categories):
        _refuse_outside(tenant_id, sender, [product_id()])
    path = rows[0].to_path if rows else None
    if path is None or from_id not in members.upline_ids(path):
        raise NotADownline()
    receiver = _in_force(found.get(to_id), now)  # type: ignore[arg-type]
    if not rules.covers_everything(receiver.product_ids, receiver.categories):
        _refuse_outside(tenant_id, receiver, [product_id()], whose="接收方的")
    return bool(rows[0].confirm)


def authorization_view(a: Authorization, *, now: datetime | None = None) -> dict[str, Any]:
    out = {"id": a.id, "member_id": a.member_id, "upline_id": a.upline_id or None, "level": a.level,
           "holder_name": a.holder_name, "product_ids": a.product_ids, "categories": a.categories,
           "regions": a.regions,
           "valid_from": a.valid_from.isoformat(), "valid_until": a.valid_until.isoformat(), "status": a.status,
           "status_reason": a.status_reason}
    if now is not None:
        out["in_force"] = a.status == AuthorizationStatus.ACTIVE and a.valid_from <= now < a.valid_until
    return out


def _check_scope(tenant_id: int, product_ids: Any, regions: Any, categories: Any = None) -> None:
    errors = []
    if product_ids is not None and (not isinstance(product_ids, list) or not all(
            isinstance(p, int) and not isinstance(p, bool) and p > 0 for p in product_ids)):
        errors.append({"field": "product_ids", "message": "授权商品须为商品编号列表"})
    elif product_ids:
        known = {p.id for p in catalog.products_by_ids(tenant_id=tenant_id, product_ids=product_ids)}
        unknown = sorted(set(product_ids) - known)
        if unknown:
            errors.append({"field": "product_ids", "message": f"商品不存在：{unknown}"})
    if categories is not None and (not isinstance(categories, list) or not categories or not all(
            isinstance(c, str) and 1 <= len(c.strip()) <= 40 for c in categories)):
        errors.append({"field": "categories", "message": "授权分类须为非空的分类名称列表（不限分类请留空）"})

    if regions is not None:
        if not isinstance(regions, list) or not regions:
            errors.append({"field": "regions", "message": "授权地区须为非空列表（全国授权请留空）"})
        else:
            for i, r in enumerate(regions):
                if not isinstance(r, dict) or not isinstance(r.get("province"), str) or not r["province"] or (
                        r.get("city") is not None and not isinstance(r["city"], str)) or set(r) - {"province",
                                                                                                     "city"}:
                    errors.append({"field": f"regions[{i}]", "message": "地区须为 {province, city?}"})
    if errors:
        raise InvalidAgentInput(details=errors)


def _check_not_empty(auth: Authorization) -> None:
    if auth.product_ids is not None and not auth.product_ids and not auth.categories:
        raise InvalidAgentInput("授权商品不能为空（全部商品请留空）",
                                details=[{"field": "product_ids", "message": "授权商品不能为空"}])


def authorize(*, tenant_id: int, member_id: int, level: str, actor: str, now: datetime,
              product_ids: list[int] | None = None, regions: list[dict[str, Any]] | None = None,
              valid_until: datetime | None = None, holder_name: str | None = None,
              categories: list[str] | None = None) -> tuple[Authorization, bool]:
    """Grant (or renew and change) a member's authorization, audited. Returns it and
    whether the level changed (a new certificate is due then)."""
    lv = level_of(tenant_id=tenant_id, key=level)
    _check_scope(tenant_id, product_ids, regions, categories)
    member = members.get_member(tenant_id=tenant_id, member_id=member_id)
    policy = get_settings(tenant_id=tenant_id)
    until = valid_until or now + timedelta(days=policy.certificate_days)
    if until <= now:
        raise InvalidAgentInput(details=[{"field": "valid_until", "message": "有效期须晚于现在"}])
    upline = _supervisor(tenant_id, member_id, lv.rank)
    auth = find_authorization(tenant_id=tenant_id, member_id=member_id, lock=True)
    before = None if auth is None else authorization_view(auth)
    level_changed = auth is None or auth.level != level or auth.status != AuthorizationStatus.ACTIVE
    if auth is None:
        auth = Authorization(tenant_id=tenant_id, member_id=member_id, created_at=now, valid_from=now)
        db.session.add(auth)
    auth.level = level
    auth.upline_id = upline
    auth.holder_name = (holder_name or auth.holder_name or member.nickname or f"会员{member_id}")[:40]
    auth.product_ids = product_ids
    auth.categories = categories
    auth.regions = regions
    auth.valid_until = until
    if auth.status != AuthorizationStatus.ACTIVE:
        auth.valid_from = now
    auth.status = AuthorizationStatus.ACTIVE
    auth.status_reason = ""
    auth.updated_at = now
    _check_not_empty(auth)
    db.session.flush()
    if member.agent_level != level:
        rewards.set_member_level(tenant_id=tenant_id, member_id=member_id, actor=actor, agent_level=level)
    record_audit(tenant_id=tenant_id, actor=actor, action="agents.authorize", target_type="authorization",
                 target_id=auth.id, before=before, after=authorization_view(auth))
    return auth, level_changed


def update_authorization(*, tenant_id: int, authorization_id: int, changes: Mapping[str, Any], actor: str,
                         now: datetime) -> Authorization:
    """Change an authorization's products, categories, regions or validity (audited)."""
    auth = get_authorization(tenant_id=tenant_id, authorization_id=authorization_id, lock=True)
    _check_scope(tenant_id, changes.get("product_ids"), changes.get("regions"), changes.get("categories"))
    before = authorization_view(auth)
    for key in ("product_ids", "categories", "regions", "valid_until"):
        if key in changes:
            setattr(auth, key, changes[key])
    if auth.valid_until <= auth.valid_from:
        raise InvalidAgentInput(details=[{"field": "valid_until", "message": "有效期须晚于生效时间"}])
    _check_not_empty(auth)
    auth.updated_at = now
    record_audit(tenant_id=tenant_id, actor=actor, action="agents.authorization_update",
                 target_type="authorization", target_id=auth.id, before=before, after=authorization_view(auth))
    return auth


def follow_level(*, tenant_id: int, member_id: int, level: str | None, actor: str, now: datetime
                 ) -> Authorization | None:
    """The member's level changed in the reward plan (by hand or an automatic upgrade):
    its authorization follows (audited); None when it has none in force to change.
    A level taken away revokes the authorization."""
    auth = find_authorization(tenant_id=tenant_id, member_id=member_id, lock=True)
    if auth is None or auth.status == AuthorizationStatus.REVOKED or auth.level == level:
        return None
    before = authorization_view(auth)
    if level is None:
        auth.status = AuthorizationStatus.REVOKED
        auth.status_reason = "代理等级已取消"
    else:
        auth.level = level
    auth.updated_at = now
    record_audit(tenant_id=tenant_id, actor=actor, action="agents.level_followed", target_type="authorization",
                 target_id=auth.id, before=before, after=authorization_view(auth))
    return auth


STATUS_MOVES = {"suspend": (AuthorizationStatus.ACTIVE, AuthorizationStatus.SUSPENDED),
                "reinstate": (AuthorizationStatus.SUSPENDED, AuthorizationStatus.ACTIVE),
                "revoke": (None, AuthorizationStatus.REVOKED)}


def change_status(*, tenant_id: int, authorization_id: int, action: str, reason: str, actor: str,
                  now: datetime) -> Authorization:
    """Suspend, reinstate or revoke an authorization (audited); revoking ends the level."""
    if action not in STATUS_MOVES:
        raise InvalidAgentInput(details=[{"field": "action", "message": "操作须为 suspend、reinstate 或 revoke"}])
    auth = get_authorization(tenant_id=tenant_id, authorization_id=authorization_id, lock=True)
    source, target = STATUS_MOVES[action]
    if auth.status == AuthorizationStatus.REVOKED or (source is not None and auth.status != source):
        raise AuthorizationStateConflict(f"授权当前为{_STATUS_NAMES[auth.status]}，不能{_ACTION_NAMES[action]}")
    before = authorization_view(auth)
    auth.status = target
    auth.status_reason = reason[:200]
    auth.updated_at = now
    if target == AuthorizationStatus.REVOKED:
        rewards.set_member_level(tenant_id=tenant_id, member_id=auth.member_id, actor=actor, agent_level=None)
    record_audit(tenant_id=tenant_id, actor=actor, action=f"agents.{action}", target_type="authorization",
                 target_id=auth.id, before=before, after=authorization_view(auth))
    return auth


_STATUS_NAMES: dict[str, str] = {AuthorizationStatus.ACTIVE: "有效", AuthorizationStatus.SUSPENDED: "暂停",
                                 AuthorizationStatus.REVOKED: "已撤销"}
_ACTION_NAMES = {"suspend": "暂停", "reinstate": "恢复", "revoke": "撤销"}


def _supervisor(tenant_id: int, member_id: int, rank: int) -> int:
    """The nearest upline agent (active) of a higher level than `rank`; 0 = headquarters."""
    found = _supervising(tenant_id, member_id, rank, _plan_levels(tenant_id))
    return found.member_id if found is not None else 0


_auths = Authorization.__table__
# Built once (Core, on the unit of work's connection): every restock runs it.
_UPLINE_AUTHS = select(*_selling_facts()).where(
    _auths.c.tenant_id == bindparam("tenant_id"), _auths.c.member_id.in_(bindparam("ids", expanding=True)),
    _auths.c.status == AuthorizationStatus.ACTIVE)


def _supervising(tenant_id: int, member_id: int, rank: int, levels_: Mapping[str, Level],
                 path: str | None = None) -> Any:
    """The authorization of the nearest upline agent (active) of a higher level than
    `rank`, as a plain row of its selling facts (read it, don't change it): the uplines' ids
    from the member's path (read unless given), their authorizations in one read."""
    if path is None:
        path = members.get_member(tenant_id=tenant_id, member_id=member_id).path
    ups = members.upline_ids(path)[:30]
    if not ups:
        return None
    db.session.flush()  # a Core read does not autoflush: authorizations granted in this unit of work count
    auths = {a.member_id: a for a in db.session.connection().execute(
        _UPLINE_AUTHS, {"tenant_id": tenant_id, "ids": ups})}
    for up in ups:
        a = auths.get(up)
        if a is not None and a.level in levels_ and levels_[a.level].rank > rank:
            return a
    return None


def supplying_upline(*, tenant_id: int, member_id: int, now: datetime,
                     auth: Authorization | None = None, path: str | None = None) -> Any:
    """The nearest upline agent in force whose level is above the member's: who supplies
    its restocks from the upline (its authorization's selling facts as a plain row, or None).
    `auth`: the member's own, and `path` the member's materialized path, when the
    caller has them."""
    auth = _in_force(auth, now) if auth is not None else active_agent(tenant_id=tenant_id, member_id=member_id,
                                                                       now=now)
    levels_ = _plan_levels(tenant_id, kept=True)  # read on every restock
    rank = levels_[auth.level].rank if auth.level in levels_ else 0
    a = _supervising(tenant_id, member_id, rank, levels_, path)
    return a if a is not None and a.valid_from <= now < a.valid_until else None


def is_downline(*, tenant_id: int, member_id: int, of_member_id: int) -> bool:
    """Whether member_id is in of_member_id's team (any depth)."""
    return of_member_id in members.get_member(tenant_id=tenant_id, member_id=member_id).ancestor_ids()


# ------------------------------------------------------------------ applications


def apply(*, tenant_id: int, member_id: int, level: str, real_name: str, id_number: str, phone: str,
          province: str, city: str | None, images: list[str], now: datetime, package_fen: int = 0,
          categories: list[str] | None = None) -> Application:
    """A member applies for an agent level (optionally for some product categories);
    it waits for its upline agent or HQ (policy)."""
    lv = level_of(tenant_id=tenant_id, key=level)
    _check_scope(tenant_id, None, None, categories)
    members.get_member(tenant_id=tenant_id, member_id=member_id)
    pending = db.session.scalar(select(Application.id).where(
        Application.tenant_id == tenant_id, Application.member_id == member_id,
        Application.status == ApplicationStatus.PENDING))
    if pending is not None:
        raise ApplicationPending(details={"application_id": pending})
    reviewer = 0
    if get_settings(tenant_id=tenant_id).review_by == "upline":
        reviewer = _supervisor(tenant_id, member_id, lv.rank)
    app = Application(tenant_id=tenant_id, member_id=member_id, level=level, real_name=real_name,
                      id_number=id_number, phone=phone, province=province, city=city, images=images,
                      categories=categories, package_fen=package_fen, reviewer_id=reviewer, status=ApplicationStatus.PENDING,
                      created_at=now)
    db.session.add(app)
    db.session.flush()
    return app


def get_application(*, tenant_id: int, application_id: int, lock: bool = False) -> Application:
    stmt = select(Application).where(Application.tenant_id == tenant_id, Application.id == application_id)
    row = db.session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        raise ApplicationNotFound()
    return row


def count_applications_for_hq(*, tenant_id: int) -> int:
    """Applications waiting for headquarters' review (those an upline agent reviews are
    its own queue): the dashboard's 待审核代理申请."""
    return int(db.session.scalar(select(func.count()).select_from(Application).where(
        Application.tenant_id == tenant_id, Application.status == ApplicationStatus.PENDING,
        Application.reviewer_id == 0)) or 0)


def list_applications(*, tenant_id: int, status: str | None = None, reviewer_id: int | None = None,
                      member_id: int | None = None, before_id: int | None = None,
                      limit: int = 50) -> list[Application]:
    stmt = select(Application).where(Application.tenant_id == tenant_id)
    if status:
        stmt = stmt.where(Application.status == status)
    if reviewer_id is not None:
        stmt = stmt.where(Application.reviewer_id == reviewer_id)
    if member_id is not None:
        stmt = stmt.where(Application.member_id == member_id)
    if before_id:
        stmt = stmt.where(Application.id < before_id)
    return list(db.session.scalars(stmt.order_by(Application.id.desc()).limit(limit)))


def application_to_decide(*, tenant_id: int, application_id: int, approve: bool, reason: str,
                          reviewer_member_id: int | None = None) -> Application:
    """The application under its row lock, if this reviewer may decide it now (pending,
    waiting for this member when a member decides; a rejection needs a reason)."""
    app = get_application(tenant_id=tenant_id, application_id=application_id, lock=True)
    if reviewer_member_id is not None and app.reviewer_id != reviewer_member_id:
        raise NotYourReview()
    if app.status != ApplicationStatus.PENDING:
        raise ApplicationStateConflict()
    if not approve and not reason.strip():
        raise InvalidAgentInput(details=[{"field": "reason", "message": "驳回须填写原因"}])
    return app


def attach_package(*, tenant_id: int, application_id: int, sku_id: int, order_id: int, amount_fen: int) -> None:
    """The application's level package order, waiting for payment."""
    app = get_application(tenant_id=tenant_id, application_id=application_id, lock=True)
    app.package_sku_id, app.package_order_id, app.package_fen = sku_id, order_id, amount_fen
    app.package_status = PackageStatus.UNPAID


def application_of_package(*, tenant_id: int, order_id: int) -> Application | None:
    """The application whose level package this order is, under its row lock."""
    return db.session.scalar(select(Application).where(
        Application.tenant_id == tenant_id, Application.package_order_id == order_id).with_for_update())


def applications_of_packages(*, tenant_id: int, order_ids: Sequence[int]) -> list[Application]:
    """The applications whose level packages are among these orders, under their row
    locks: one read for a batch of paid orders (most of which are none)."""
    if not order_ids:
        return []
    return list(db.session.scalars(select(Application).where(
        Application.tenant_id == tenant_id, Application.package_order_id.in_(sorted(set(order_ids))))
        .order_by(Application.id).with_for_update()))


def close_application(*, tenant_id: int, application_id: int, reason: str, now: datetime) -> Application:
    """A pending application closed by the system (its package order was cancelled or
    refunded before the review): rejected with the reason, audited."""
    app = get_application(tenant_id=tenant_id, application_id=application_id, lock=True)
    if app.status == ApplicationStatus.PENDING:
        app.status, app.reason, app.decided_by, app.decided_at = (ApplicationStatus.REJECTED, reason[:200],
                                                                   "system:agents", now)
        record_audit(tenant_id=tenant_id, actor="system:agents", action="agents.application_rejected",
                     target_type="agent_application", target_id=app.id, before={"status": ApplicationStatus.PENDING},
                     after={"status": ApplicationStatus.REJECTED, "reason": app.reason})
    return app


def decide_application(*, tenant_id: int, application_id: int, approve: bool, reason: str, actor: str,
                       now: datetime, reviewer_member_id: int | None = None,
                       product_ids: list[int] | None = None, regions: list[dict[str, Any]] | None = None,
                       categories: list[str] | None = None
                       ) -> tuple[Application, Authorization | None, bool]:
    """Approve (granting the authorization) or reject with a reason, once. A member
    reviewer may decide only the applications waiting for it; staff decide any. The
    products default to the categories applied for (null: every product), the regions
    to the applicant's province/city. Returns the application, the authorization and
    whether its level changed."""
    app = application_to_decide(tenant_id=tenant_id, application_id=application_id, approve=approve, reason=reason,
                                reviewer_member_id=reviewer_member_id)
    app.status = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
    app.reason = reason[:200]
    app.decided_by = actor
    app.decided_at = now
    auth, changed = None, False
    if approve:
        if regions is None:
            regions = [{"province": app.province, **({"city": app.city} if app.city else {})}]
        if product_ids is None and categories is None:
            categories = app.categories
        auth, changed = authorize(tenant_id=tenant_id, member_id=app.member_id, level=app.level, actor=actor,
                                  now=now, product_ids=product_ids, categories=categories, regions=regions,
                                  holder_name=app.real_name)
    record_audit(tenant_id=tenant_id, actor=actor, action="agents.application_" + app.status,
                 target_type="agent_application", target_id=app.id, before={"status": ApplicationStatus.PENDING},
                 after={"status": app.status, "reason": app.reason})
    return app, auth, changed


def application_view(a: Application, *, private: bool = True) -> dict[str, Any]:
    out = {"id": a.id, "member_id": a.member_id, "level": a.level, "real_name": a.real_name, "phone": a.phone,
           "province": a.province, "city": a.city, "images": a.images, "categories": a.categories,
           "package_fen": a.package_fen, "package_sku_id": a.package_sku_id, "package_order_id": a.package_order_id,
           "package_status": a.package_status,
           "reviewer": "hq" if not a.reviewer_id else "upline", "reviewer_id": a.reviewer_id or None,
           "status": a.status, "reason": a.reason, "created_at": a.created_at.isoformat(),
           "decided_at": a.decided_at.isoformat() if a.decided_at else None}
    out["id_number"] = a.id_number if private else a.id_number[:3] + "*" * max(len(a.id_number) - 7, 0) + a.id_number[-4:]
    return out


# ------------------------------------------------------------------ certificates


def _serial() -> str:
    # 12 characters of a 31-letter alphabet (no 0/O/1/I/L): about 59 random bits, unguessable
    # among the few certificates a tenant issues; the unique key catches the rest.
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return "AC" + "".join(secrets.choice(alphabet) for _ in range(12))


def issue_certificate(*, tenant_id: int, authorization_id: int, products_text: str, now: datetime) -> Certificate:
    """A new certificate for the authorization as it stands; the previous one is superseded."""
    auth = get_authorization(tenant_id=tenant_id, authorization_id=authorization_id)
    lv = _plan_levels(tenant_id).get(auth.level)
    for old in db.session.scalars(select(Certificate).where(
            Certificate.tenant_id == tenant_id, Certificate.authorization_id == auth.id,
            Certificate.status == CertificateStatus.VALID).with_for_update()):
        old.status = CertificateStatus.SUPERSEDED
        old.ended_at = now
    cert = Certificate(tenant_id=tenant_id, serial=_serial(), authorization_id=auth.id, member_id=auth.member_id,
                       holder_name=auth.holder_name, level=auth.level, level_name=lv.name if lv else auth.level,
                       products_text=products_text[:255], region_text=region_text(auth.regions)[:255],
                       valid_from=auth.valid_from, valid_until=auth.valid_until, status=CertificateStatus.VALID, issued_at=now)
    db.session.add(cert)
    db.session.flush()
    return cert


def region_text(regions: Sequence[Mapping[str, Any]] | None) -> str:
    if regions is None:
        return "全国"
    return "、".join(r["province"] + (r.get("city") or "") for r in regions)


def revoke_certificates(*, tenant_id: int, authorization_id: int, now: datetime) -> int:
    """End every valid certificate of an authorization (it was revoked)."""
    n = 0
    for cert in db.session.scalars(select(Certificate).where(
            Certificate.tenant_id == tenant_id, Certificate.authorization_id == authorization_id,
            Certificate.status == CertificateStatus.VALID).with_for_update()):
        cert.status = CertificateStatus.REVOKED
        cert.ended_at = now
        n += 1
    return n


def certificates_of(*, tenant_id: int, member_id: int) -> list[Certificate]:
    return list(db.session.scalars(select(Certificate).where(
        Certificate.tenant_id == tenant_id, Certificate.member_id == member_id).order_by(Certificate.id.desc())))


def get_certificate(*, tenant_id: int, certificate_id: int) -> Certificate:
    row = db.session.scalar(select(Certificate).where(Certificate.tenant_id == tenant_id,
                                                      Certificate.id == certificate_id))
    if row is None:
        raise CertificateNotFound()
    return row


def verify_certificate(*, serial: str, now: datetime) -> dict[str, Any]:
    """The public verification of a serial: holder, level, validity and status
    (valid, expired, superseded, revoked); CertificateNotFound for a forged one."""
    serial = serial.strip().upper()
    cert = db.session.scalar(select(Certificate).where(Certificate.serial == serial)) if len(serial) <= 24 else None
    if cert is None:
        raise CertificateNotFound()
    auth = db.session.get(Authorization, cert.authorization_id)
    status = cert.status
    if status == CertificateStatus.VALID and auth is not None and auth.status == AuthorizationStatus.SUSPENDED:
        status = CertificateStatus.SUSPENDED
    if status == CertificateStatus.VALID and now >= cert.valid_until:
        status = CertificateStatus.EXPIRED
    return {"serial": cert.serial, "holder_name": cert.holder_name, "level": cert.level,
            "level_name": cert.level_name, "products": cert.products_text, "region": cert.region_text,
            "valid_from": cert.valid_from.date().isoformat(), "valid_until": cert.valid_until.date().isoformat(),
            "status": status, "status_text": CERT_STATUS_TEXT[status], "issued_at": cert.issued_at.isoformat(),
            "tenant_id": cert.tenant_id, "certificate_id": cert.id}


CERT_STATUS_TEXT: dict[str, str] = {CertificateStatus.VALID: "有效", CertificateStatus.EXPIRED: "已过期",
                                    CertificateStatus.SUPERSEDED: "已被新证书替代", CertificateStatus.REVOKED: "已撤销",
                                    CertificateStatus.SUSPENDED: "授权暂停中"}


def certificate_view(c: Certificate) -> dict[str, Any]:
    return {"id": c.id, "serial": c.serial, "holder_name": c.holder_name, "level": c.level,
            "level_name": c.level_name, "products": c.products_text, "region": c.region_text,
            "valid_from": c.valid_from.isoformat(), "valid_until": c.valid_until.isoformat(), "status": c.status,
            "issued_at": c.issued_at.isoformat()}
