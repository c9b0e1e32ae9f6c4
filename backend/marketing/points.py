"""Points verbs (积分): a ledger of entries, each once per idempotency key, over a
balance per member that never goes below zero.

    post_points(...)   the one way points move: the entry claimed by its key (INSERT
                       IGNORE on the unique key: a replay changes nothing), then the
                       balance by one guarded UPDATE (`balance + delta >= 0`), so no
                       concurrency can overdraw it; a refused debit raises and the
                       caller's unit of work rolls the entry back with it.

Earning (on a completed order, daily sign-in, a share that brought a member, the
brand's tasks), spending at checkout (flows/checkout.py) with a cap per order,
transfers between members, and expiry by the tenant's rule (credits expire N days
after they were credited, the oldest spent first). `check_points` compares every
balance with the sum of its entries and can rebuild it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update

from backend.audit.service import record_audit
from backend.bulk import insert_ignore
from backend.db import newest_first, rowcount
from backend.extensions import db
from backend.marketing.coupons import policy
from backend.marketing.errors import (
    AlreadySignedIn,
    InsufficientPoints,
    InvalidMarketingInput,
    InvalidTransfer,
    PointsTaskDone,
    PointsTaskNotFound,
    WrongTaskCode,
)
from backend.marketing.models import POINTS_KINDS, MarketingPolicy, PointsAccount, PointsEntry, PointsTask
from backend.marketing.types import OfferStatus
from backend.members import service as members
from backend.money import as_rate
from backend.types import CHINA_TZ, china_day  # noqa: F401  (re-exported)

MAX_POINTS = 100_000_000

_accounts = PointsAccount.__table__
_entries = PointsEntry.__table__




# ------------------------------------------------------------------ the ledger


def _ensure_account(tenant_id: int, member_id: int) -> None:
    db.session.execute(insert_ignore(_accounts).values(tenant_id=tenant_id, member_id=member_id, balance=0))


def post_points(*, tenant_id: int, member_id: int, delta: int, kind: str, key: str, now: datetime,
                memo: str = "", order_id: int | None = None, expires_at: datetime | None = None) -> bool:
    """Move a member's points once per key; False when the key was posted before.
    A debit beyond the balance raises InsufficientPoints (nothing is kept)."""
    if kind not in POINTS_KINDS:
        raise ValueError(kind)
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise ValueError("points move by a non-zero integer")
    claimed = rowcount(db.session.execute(insert_ignore(_entries).values(
        tenant_id=tenant_id, member_id=member_id, idem_key=key[:80], kind=kind, delta=delta, memo=memo[:100],
        order_id=order_id, expires_at=expires_at if delta > 0 else None, created_at=now)))
    if claimed != 1:
        return False
    # The UPDATE first: an INSERT IGNORE that meets an existing account takes a shared
    # lock, and two posters upgrading theirs to the UPDATE's would deadlock.
    moved = _move(tenant_id, member_id, delta)
    if moved != 1 and delta > 0:
        _ensure_account(tenant_id, member_id)
        moved = _move(tenant_id, member_id, delta)
    if moved != 1:
        have = balance_of(tenant_id=tenant_id, member_id=member_id)
        raise InsufficientPoints(f"积分不足，当前可用 {have} 积分", details={"balance": have, "needed": -delta})
    return True


def _move(tenant_id: int, member_id: int, delta: int) -> int:
    return int(rowcount(db.session.execute(
        update(_accounts).where(_accounts.c.tenant_id == tenant_id, _accounts.c.member_id == member_id,
                                _accounts.c.balance + delta >= 0)
        .values(balance=_accounts.c.balance + delta))))


def credit(*, tenant_id: int, member_id: int, points: int, kind: str, key: str, now: datetime, memo: str,
           order_id: int | None = None, rules: MarketingPolicy | None = None) -> bool:
    """Credit points that expire by the tenant's rule."""
    if points <= 0:
        return False
    rules = rules or policy(tenant_id=tenant_id)
    expires = now + timedelta(days=rules.points_expire_days) if rules.points_expire_days else None
    return post_points(tenant_id=tenant_id, member_id=member_id, delta=points, kind=kind, key=key, now=now,
                       memo=memo, order_id=order_id, expires_at=expires)


def balance_of(*, tenant_id: int, member_id: int) -> int:
    return int(db.session.scalar(select(_accounts.c.balance).where(
        _accounts.c.tenant_id == tenant_id, _accounts.c.member_id == member_id)) or 0)


def entry_delta(*, tenant_id: int, key: str) -> int:
    """The points a key moved (0 when never posted)."""
    return int(db.session.scalar(select(_entries.c.delta).where(
        _entries.c.tenant_id == tenant_id, _entries.c.idem_key == key)) or 0)


def entries(*, tenant_id: int, member_id: int, before_id: int | None = None, limit: int = 50) -> list[PointsEntry]:
    """A member's points entries, newest first."""
    return newest_first(PointsEntry, tenant_id=tenant_id, before_id=before_id, limit=limit,
                        where={PointsEntry.member_id: member_id})


def entry_view(e: PointsEntry) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "delta": e.delta, "memo": e.memo, "order_id": e.order_id,
            "expires_at": e.expires_at.isoformat() if e.expires_at else None, "created_at": e.created_at.isoformat()}


# ------------------------------------------------------------------ the tenant's rules

_RULE_LIMITS = {"point_value_fen": (1, 10000), "earn_points_per_yuan": (0, 10000), "signin_points": (0, 10000),
                "bind_points": (0, 100000), "points_expire_days": (0, 3650)}


def rules_view(p: MarketingPolicy) -> dict[str, Any]:
    return {"point_value_fen": p.point_value_fen, "points_max_ratio": p.points_max_ratio,
            "earn_points_per_yuan": p.earn_points_per_yuan, "signin_points": p.signin_points,
            "bind_points": p.bind_points, "points_expire_days": p.points_expire_days}


def effective_rules(*, tenant_id: int) -> MarketingPolicy:
    """The tenant's marketing policy (defaults when it never set any)."""
    return policy(tenant_id=tenant_id)


def update_points_rules(*, tenant_id: int, changes: Mapping[str, Any], actor: str) -> MarketingPolicy:
    """Change the points rules (audited)."""
    errors = []
    for key, (lo, hi) in _RULE_LIMITS.items():
        v = changes.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi):
            errors.append({"field": key, "message": f"须为 {lo}–{hi} 之间的整数"})
    if changes.get("points_max_ratio") is not None:
        try:
            ratio = as_rate(changes["points_max_ratio"])
        except (TypeError, ValueError):
            ratio = None
        if ratio is None or not 0 <= ratio <= 1:
            errors.append({"field": "points_max_ratio", "message": "须为 0 到 1 之间的小数"})
    if errors:
        raise InvalidMarketingInput(details=errors)
    row = effective_rules(tenant_id=tenant_id)
    before = rules_view(row)
    if row.id is None:
        db.session.add(row)
    for key in (*_RULE_LIMITS, "points_max_ratio"):
        if changes.get(key) is not None:
            setattr(row, key, str(as_rate(changes[key])) if key == "points_max_ratio" else changes[key])
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="marketing.points_rules", target_type="tenant",
                 target_id=tenant_id, before=before, after=rules_view(row))
    return row


# ------------------------------------------------------------------ earning


def sign_in(*, tenant_id: int, member_id: int, now: datetime) -> int:
    """Daily sign-in (每日签到): the tenant's points once per China day."""
    rules = effective_rules(tenant_id=tenant_id)
    day = china_day(now)
    if rules.signin_points <= 0:
        raise AlreadySignedIn("本品牌未开启签到积分")
    if not credit(tenant_id=tenant_id, member_id=member_id, points=rules.signin_points, kind="signin",
                  key=f"signin:{member_id}:{day:%Y%m%d}", now=now, memo=f"{day:%m月%d日}签到", rules=rules):
        raise AlreadySignedIn()
    return int(rules.signin_points)


def earn_for_order(*, tenant_id: int, member_id: int, order_id: int, paid_fen: int, now: datetime) -> int:
    """Points for a completed order: per whole yuan paid for its goods (however paid,
    freight and refunded goods left out), once."""
    rules = effective_rules(tenant_id=tenant_id)
    points = paid_fen // 100 * rules.earn_points_per_yuan
    credit(tenant_id=tenant_id, member_id=member_id, points=points, kind="earn_order", key=f"earn:{order_id}",
           now=now, memo="订单完成奖励", order_id=order_id, rules=rules)
    return points


def _order_sum(tenant_id: int, order_id: int, kind: str) -> int:
    """The points an order's entries of one kind moved, together (signed)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(_entries.c.delta), 0)).where(
        _entries.c.tenant_id == tenant_id, _entries.c.order_id == order_id, _entries.c.kind == kind)) or 0)


def _share(points: int, part_fen: int, whole_fen: int) -> int:
    """points × part / whole, rounded down; all of them once the part is the whole."""
    if whole_fen <= 0 or part_fen >= whole_fen:
        return points
    return points * max(0, part_fen) // whole_fen


def reverse_for_refund(*, tenant_id: int, member_id: int, order_id: int, refund_key: str,
                       refunded_since_fen: int, kept_fen: int, now: datetime) -> int:
    """A refund after completion takes back the points the refunded goods earned: of
    what the order earned, the share refunded since completion (refunded_since_fen, this
    refund included) is of what the buyer kept at completion (kept_fen), rounded down,
    less what earlier refunds took; the refund that leaves nothing takes the rest. Once
    per refund, never below zero (what was already spent stays spent)."""
    earned = entry_delta(tenant_id=tenant_id, key=f"earn:{order_id}")
    if earned <= 0:
        return 0
    taken = -_order_sum(tenant_id, order_id, "reverse_order")
    want = _share(earned, refunded_since_fen, kept_fen) - taken
    take = min(want, balance_of(tenant_id=tenant_id, member_id=member_id))
    if take <= 0:
        return 0
    if not post_points(tenant_id=tenant_id, member_id=member_id, delta=-take, kind="reverse_order",
                       key=f"reverse:{refund_key}", now=now, memo="退款扣回积分", order_id=order_id):
        return 0
    return take


def reward_binding(*, tenant_id: int, promoter_id: int, member_id: int, now: datetime,
                   rules: MarketingPolicy | None = None) -> int:
    """A share brought a member: the promoter's points, once per member brought."""
    rules = rules or effective_rules(tenant_id=tenant_id)
    credit(tenant_id=tenant_id, member_id=promoter_id, points=rules.bind_points, kind="bind",
           key=f"bind:{member_id}", now=now, memo="分享带来新成员", rules=rules)
    return int(rules.bind_points)


def reward_bindings(*, tenant_id: int, bound: Sequence[tuple[int, int]], now: datetime,
                    rules: MarketingPolicy) -> int:
    """`reward_binding` for a batch of (promoter, member brought) from the binding
    worker: the entries in one INSERT, the balances in one UPDATE (plus one INSERT
    and UPDATE for promoters without an account yet), instead of three statements per
    member. The caller holds each brought member's row lock (it just bound them), so
    no one else posts the same `bind:<member>` key meanwhile: every key not found
    before the INSERT is this unit's. Returns the points credited."""
    if rules.bind_points <= 0 or not bound:
        return 0
    if len(bound) == 1:
        promoter_id, member_id = bound[0]
        return reward_binding(tenant_id=tenant_id, promoter_id=promoter_id, member_id=member_id, now=now,
                              rules=rules)
    keys = {f"bind:{member_id}": promoter_id for promoter_id, member_id in bound}
    done = set(db.session.scalars(select(_entries.c.idem_key).where(
        _entries.c.tenant_id == tenant_id, _entries.c.idem_key.in_(sorted(keys)))))
    fresh = [(key, promoter_id) for key, promoter_id in keys.items() if key not in done]
    if not fresh:
        return 0
    expires = now + timedelta(days=rules.points_expire_days) if rules.points_expire_days else None
    claimed = rowcount(db.session.execute(insert_ignore(_entries), [
        {"tenant_id": tenant_id, "member_id": promoter_id, "idem_key": key, "kind": "bind",
         "delta": rules.bind_points, "memo": "分享带来新成员", "order_id": None, "expires_at": expires,
         "created_at": now} for key, promoter_id in fresh]))
    if claimed != len(fresh):  # impossible under the members' locks; never half a batch
        raise RuntimeError(f"binding points: {claimed} of {len(fresh)} keys were still free")
    per: dict[int, int] = {}
    for _, promoter_id in fresh:
        per[promoter_id] = per.get(promoter_id, 0) + int(rules.bind_points)
    _credit_balances(tenant_id, per)
    return int(rules.bind_points) * len(fresh)


def _credit_balances(tenant_id: int, per: Mapping[int, int]) -> None:
    """Add positive points to several balances: one UPDATE (rows locked in the unique
    key's order, the same for every batch), and for members without an account yet one
    INSERT IGNORE and one UPDATE more, as post_points does (UPDATE first)."""
    ids = sorted(per)
    moved = _add(tenant_id, per, ids)
    if moved == len(ids):
        return
    have = set(db.session.scalars(select(_accounts.c.member_id).where(
        _accounts.c.tenant_id == tenant_id, _accounts.c.member_id.in_(ids))))
    missing = [m for m in ids if m not in have]
    if missing:
        db.session.execute(insert_ignore(_accounts), [{"tenant_id": tenant_id, "member_id": m, "balance": 0}
                                                       for m in missing])
        _add(tenant_id, per, missing)


def _add(tenant_id: int, per: Mapping[int, int], ids: Sequence[int]) -> int:
    return int(rowcount(db.session.execute(
        update(_accounts).where(_accounts.c.tenant_id == tenant_id, _accounts.c.member_id.in_(list(ids)))
        .values(balance=_accounts.c.balance + case(*((_accounts.c.member_id == m, per[m]) for m in ids),
                                                   else_=0)))))


# ------------------------------------------------------------------ the brand's tasks


def create_task(*, tenant_id: int, title: str, points: int, repeat: str, claim_code: str | None,
                actor: str) -> PointsTask:
    """A task the brand defines (audited)."""
    errors = []
    if not 1 <= len(title.strip()) <= 60:
        errors.append({"field": "title", "message": "标题须为 1–60 个字符"})
    if not 1 <= points <= 100000:
        errors.append({"field": "points", "message": "积分须为 1–100000"})
    if repeat not in ("once", "daily"):
        errors.append({"field": "repeat", "message": "须为 once 或 daily"})
    if errors:
        raise InvalidMarketingInput(details=errors)
    row = PointsTask(tenant_id=tenant_id, title=title.strip(), points=points, repeat=repeat,
                     claim_code=claim_code or None, status=OfferStatus.ACTIVE)
    db.session.add(row)
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="marketing.points_task_create", target_type="points_task",
                 target_id=row.id, before=None, after=task_view(row, admin=True))
    return row


def list_tasks(*, tenant_id: int, active_only: bool = True) -> list[PointsTask]:
    stmt = select(PointsTask).where(PointsTask.tenant_id == tenant_id)
    if active_only:
        stmt = stmt.where(PointsTask.status == OfferStatus.ACTIVE)
    return list(db.session.scalars(stmt.order_by(PointsTask.id.desc()).limit(100)))


def set_task_status(*, tenant_id: int, task_id: int, status: str, actor: str) -> PointsTask:
    """End a task or reopen it (audited)."""
    if status not in (OfferStatus.ACTIVE, OfferStatus.STOPPED):
        raise InvalidMarketingInput(details=[{"field": "status", "message": "须为 active 或 stopped"}])
    row = db.session.scalar(select(PointsTask).where(PointsTask.tenant_id == tenant_id, PointsTask.id == task_id))
    if row is None:
        raise PointsTaskNotFound()
    before, row.status = row.status, status
    record_audit(tenant_id=tenant_id, actor=actor, action="marketing.points_task_status", target_type="points_task",
                 target_id=row.id, before={"status": before}, after={"status": status})
    return row


def complete_task(*, tenant_id: int, member_id: int, task_id: int, code: str | None, now: datetime) -> int:
    """A member completes a task (with its claim code, if it has one): its points, once
    (or once a day)."""
    task = db.session.scalar(select(PointsTask).where(PointsTask.tenant_id == tenant_id, PointsTask.id == task_id,
                                                      PointsTask.status == OfferStatus.ACTIVE))
    if task is None:
        raise PointsTaskNotFound()
    if task.claim_code and (code or "").strip().upper() != task.claim_code.strip().upper():
        raise WrongTaskCode()
    key = f"task:{task.id}:{member_id}" + (f":{china_day(now):%Y%m%d}" if task.repeat == "daily" else "")
    if not credit(tenant_id=tenant_id, member_id=member_id, points=task.points, kind="task", key=key, now=now,
                  memo=task.title):
        raise PointsTaskDone("今天已完成该任务" if task.repeat == "daily" else "该任务已完成")
    return int(task.points)


def task_view(t: PointsTask, *, admin: bool = False) -> dict[str, Any]:
    out = {"id": t.id, "title": t.title, "points": t.points, "repeat": t.repeat, "needs_code": bool(t.claim_code),
           "status": t.status}
    if admin:
        out["claim_code"] = t.claim_code
    return out


# ------------------------------------------------------------------ spending and giving


@dataclass(frozen=True)
class PointsOffer:
    balance: int
    point_value_fen: int
    max_points: int  # the most this order may take

    def fen(self, points: int) -> int:
        return points * self.point_value_fen


def offer(*, tenant_id: int, member_id: int, cap_fen_for: Any) -> PointsOffer:
    """What points may pay of an order: cap_fen_for(max_ratio) gives the fen cap."""
    rules = effective_rules(tenant_id=tenant_id)
    value = int(rules.point_value_fen)
    cap_fen = cap_fen_for(as_rate(rules.points_max_ratio))
    balance = balance_of(tenant_id=tenant_id, member_id=member_id)
    return PointsOffer(balance=balance, point_value_fen=value, max_points=min(balance, cap_fen // value))


def spend_on_order(*, tenant_id: int, member_id: int, order_id: int, points: int, now: datetime) -> None:
    """Points paying part of an order, once per order (InsufficientPoints if not held)."""
    post_points(tenant_id=tenant_id, member_id=member_id, delta=-points, kind="spend", key=f"spend:{order_id}",
                now=now, memo="下单抵扣", order_id=order_id)


def return_for_order(*, tenant_id: int, member_id: int, order_id: int, now: datetime) -> int:
    """An unpaid order cancelled gives its points back, once."""
    spent = -entry_delta(tenant_id=tenant_id, key=f"spend:{order_id}")
    if spent <= 0:
        return 0
    if not credit(tenant_id=tenant_id, member_id=member_id, points=spent, kind="spend_return",
                  key=f"spend_return:{order_id}", now=now, memo="订单取消退回积分", order_id=order_id):
        return 0
    return spent


def return_for_refund(*, tenant_id: int, member_id: int, order_id: int, refund_key: str, refunded_fen: int,
                      goods_fen: int, now: datetime) -> int:
    """A refund gives back the points spent on the order in proportion: of the points
    spent, the share the goods refunded so far (refunded_fen, this refund included) are
    of all the order's goods (goods_fen), rounded down to the point, less what earlier
    refunds gave back; the refund that leaves no goods gives back the rest. Once per
    refund (its key)."""
    spent = -entry_delta(tenant_id=tenant_id, key=f"spend:{order_id}")
    if spent <= 0:
        return 0
    back = _share(spent, refunded_fen, goods_fen) - _order_sum(tenant_id, order_id, "spend_return")
    if back <= 0:
        return 0
    if not credit(tenant_id=tenant_id, member_id=member_id, points=back, kind="spend_return",
                  key=f"spend_return:{refund_key}", now=now, memo="订单退款退回积分", order_id=order_id):
        return 0
    return back


def transfer(*, tenant_id: int, from_member_id: int, to_member_id: int, points: int, client_token: str,
             now: datetime) -> bool:
    """积分转赠: points from one member to another, once per client token; False on a
    replay. The two balances are locked in ascending member order (no deadlock cycle)."""
    if to_member_id == from_member_id:
        raise InvalidTransfer("不能转赠给自己")
    if not isinstance(points, int) or not 1 <= points <= MAX_POINTS:
        raise InvalidTransfer("转赠积分须为正整数")
    pair = sorted((from_member_id, to_member_id))
    lock = (select(_accounts.c.member_id).where(_accounts.c.tenant_id == tenant_id, _accounts.c.member_id.in_(pair))
            .order_by(_accounts.c.member_id).with_for_update())
    found = set(db.session.scalars(lock))
    if len(found) < 2:  # a first-time receiver: its account, then both locked in order
        for member_id in pair:
            if member_id not in found:
                _ensure_account(tenant_id, member_id)
        db.session.execute(lock).all()
    key = f"transfer:{from_member_id}:{client_token}"
    if not post_points(tenant_id=tenant_id, member_id=from_member_id, delta=-points, kind="transfer_out",
                       key=f"{key}:out", now=now, memo="转赠他人"):
        return False
    credit(tenant_id=tenant_id, member_id=to_member_id, points=points, kind="transfer_in", key=f"{key}:in", now=now,
           memo="好友转赠")
    return True


def grant(*, tenant_id: int, member_id: int, points: int, kind: str, key: str, memo: str, now: datetime) -> bool:
    """Points given by another domain's flow (a group leader's reward), once per key."""
    return credit(tenant_id=tenant_id, member_id=member_id, points=points, kind=kind, key=key, now=now, memo=memo)


# ------------------------------------------------------------------ expiry and checks


EXPIRY_LOOKBACK = timedelta(days=30)  # the job runs hourly; a month of slack if it was down


def expire_points(*, now: datetime, limit: int = 1000) -> int:
    """Expire what is left of credits whose time came (oldest spent first): per member,
    max(0, credits expired so far − everything taken out so far), capped at the balance.
    The rule is its own idempotency: run again, it finds nothing left to expire."""
    due = db.session.execute(select(_entries.c.tenant_id, _entries.c.member_id).where(
        _entries.c.expires_at <= now, _entries.c.expires_at > now - EXPIRY_LOOKBACK).distinct().limit(limit)).all()
    done = 0
    for tenant_id, member_id in due:
        expired_credit, debits = db.session.execute(select(
            func.coalesce(func.sum(case((_entries.c.expires_at <= now, _entries.c.delta), else_=0)), 0),
            func.coalesce(func.sum(case((_entries.c.delta < 0, -_entries.c.delta), else_=0)), 0))
            .where(_entries.c.tenant_id == tenant_id, _entries.c.member_id == member_id)).one()
        lapse = min(int(expired_credit) - int(debits), balance_of(tenant_id=tenant_id, member_id=member_id))
        if lapse > 0:
            post_points(tenant_id=tenant_id, member_id=member_id, delta=-lapse, kind="expire",
                        key=f"expire:{member_id}:{now:%Y%m%d%H%M%S%f}", now=now, memo="积分过期")
            done += 1
    return done


@dataclass(frozen=True)
class PointsReport:
    accounts: int
    mismatched: list[tuple[int, int, int]]  # (member id, balance, sum of entries)
    fixed: int


def check_points(*, tenant_id: int, fix: bool = False) -> PointsReport:
    """Every balance against the sum of its entries; with fix, rebuild from the entries."""
    sums = dict(db.session.execute(select(_entries.c.member_id, func.sum(_entries.c.delta)).where(
        _entries.c.tenant_id == tenant_id).group_by(_entries.c.member_id)).tuples().all())
    balances = dict(db.session.execute(select(_accounts.c.member_id, _accounts.c.balance).where(
        _accounts.c.tenant_id == tenant_id)).tuples().all())
    bad = [(m, balances.get(m, 0), int(sums.get(m, 0))) for m in sorted(set(sums) | set(balances))
           if balances.get(m, 0) != int(sums.get(m, 0))]
    fixed = 0
    if fix:
        for member_id, _, total in bad:
            _ensure_account(tenant_id, member_id)
            fixed += rowcount(db.session.execute(update(_accounts).where(
                _accounts.c.tenant_id == tenant_id, _accounts.c.member_id == member_id).values(balance=total)))
    return PointsReport(accounts=len(balances), mismatched=bad, fixed=fixed)


def tenants_with_points(*, tenant_ids: Sequence[int] | None = None) -> list[int]:
    """Tenants that hold any points account (for the check command)."""
    stmt = select(_accounts.c.tenant_id).distinct()
    if tenant_ids:
        stmt = stmt.where(_accounts.c.tenant_id.in_(tenant_ids))
    return [r[0] for r in db.session.execute(stmt)]


def transfer_by_invite_code(*, tenant_id: int, from_member_id: int, invite_code: str, points: int,
                            client_token: str, now: datetime) -> dict[str, Any]:
    """积分转赠 to the member with this invite code; returns the giver's balance after."""
    receiver = members.find_by_invite_code(tenant_id=tenant_id, code=invite_code)
    transfer(tenant_id=tenant_id, from_member_id=from_member_id, to_member_id=receiver.id, points=points,
             client_token=client_token, now=now)
    return {"to": {"nickname": receiver.nickname, "invite_code": receiver.invite_code}, "points": points,
            "balance": balance_of(tenant_id=tenant_id, member_id=from_member_id)}


def member_points(*, tenant_id: int, member_id: int, before_id: int | None = None,
                  limit: int = 50) -> tuple[int, list[PointsEntry]]:
    """A member of this tenant's balance and entries (MemberNotFound for anyone else)."""
    members.get_member(tenant_id=tenant_id, member_id=member_id)
    return (balance_of(tenant_id=tenant_id, member_id=member_id),
            entries(tenant_id=tenant_id, member_id=member_id, before_id=before_id, limit=limit))
