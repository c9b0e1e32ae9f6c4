"""Finance verbs: settings, rewards through their life, stored value, balance
transfers and recharges. Withdrawals are in withdrawals.py, statements in statements.py.

For the orders / payments domain. Call these inside the unit of work that changes the
order (while holding the order's row lock); every one is idempotent, so a repeated
notification or a retried unit of work changes nothing the second time:

    on_order_paid(tenant_id=, order_id=, paid_fen=, payouts=, now=) -> list[Frozen]
        The payment (WeChat clearing → merchant, once per order) and the order lines'
        rewards frozen (once per order line). `payouts` is what
        backend.rewards.service.compute_and_record_payouts returned for the order's
        lines (merchant remainder and zero lines are skipped).
    on_orders_paid(tenant_id=, orders=[PaidOrder(order_id, paid_fen, payouts)], now=)
        The same for a batch of one tenant's orders (the paid-order follow-up).
    on_order_completed(tenant_id=, order_id=, completed_at=) -> int
        Starts the after-sales window: the order's frozen rewards become available
        `settle_after_days` (tenant setting, default 7) after completed_at, moved by the
        settlement job. Returns how many order lines were scheduled.
    on_lines_refunded(tenant_id=, order_id=, order_line_ids=, now=, refund_fen=None,
                      refund_key=None) -> VoidResult
        The refund (merchant → WeChat clearing, once per refund_key, e.g. out_refund_no)
        and each refunded line's rewards: cancelled while frozen, reversed once settled
        (a member's available balance may then go below zero; withdrawals wait).
    pay_with_stored_value(...) / refund_stored_value(...)
        An order paid (partly) from a member's stored value, and its refund.

Finer verbs they are made of: record_payment, record_refund, cancel_rewards,
reverse_rewards. Referral and team bonuses (no order line, nothing
to refund) go straight to the available balance: credit_bonuses, or the job
credit_reward_bonuses, which posts whatever the rewards service recorded.

For other readers: get_rules (a tenant's finance rules), recharge_totals (upgrade
facts), order_rewards, settlement_mark; balances through backend.ledger.service
(balances_of, balances_by_member).

Functions here never commit: the caller's unit of work does.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import and_, case, func, or_, select, update

from backend import bulk
from backend.audit.service import record_audit
from backend.bulk import insert_ignore
from backend.events import announce
from backend.extensions import db
from backend.finance.errors import (
    RechargeInvalid,
    RechargeNotFound,
    TransferDisabled,
    TransferInvalid,
    UnknownBill,
)
from backend.finance.models import (
    BalanceTransfer,
    FinanceCursor,
    FinanceSettings,
    Recharge,
    RewardAccrual,
    SettlementMark,
)
from backend.finance.rules import DEFAULT_RULES, FinanceRules, apply_changes, recharge_bonus, settle_due_at
from backend.finance.types import RechargeStatus, RewardStatus
from backend.ledger import service as ledger
from backend.ledger.service import Leg, PostingSpec, member, system
from backend.ledger.types import AccountKind as K
from backend.members import service as members
from backend.rewards import service as rewards
from backend.tenants import service as tenants
from backend.tenants.service import get_tenant, get_tenant_by_slug
from backend.wechat.pay import parse_pay_notification
from backend.wechat.service import gateway, pay_credentials

# ------------------------------------------------------------------ alerts


def alert(*, tenant_id: int, member_id: int, kind: str, data: dict[str, Any], dedupe_key: str,
          now: datetime) -> None:
    """Tell a member about a money change (settlement, withdrawal result): announced, and
    written to the notifications outbox in this unit of work by the alerts flow
    (backend/flows/alerts.py), sent after it commits, once per dedupe key."""
    announce("member_money_changed", tenant_id=tenant_id, member_id=member_id, kind=kind, data=data,
             dedupe_key=dedupe_key, now=now)


@dataclass(frozen=True)
class Commission:
    """A reward just frozen, as the "new commission" alert needs it."""

    beneficiary_id: int | None
    amount_fen: int
    order_id: int | None
    kind: str


# ------------------------------------------------------------------ settings


def _rules_of(row: FinanceSettings) -> FinanceRules:
    from backend.finance.rules import parse_rate

    return FinanceRules(
        settle_after_days=row.settle_after_days, withdraw_min_fen=row.withdraw_min_fen,
        withdraw_fee_rate=parse_rate(row.withdraw_fee_rate), withdraw_fee_min_fen=row.withdraw_fee_min_fen,
        withdraw_daily_limit_fen=row.withdraw_daily_limit_fen, withdraw_daily_count=row.withdraw_daily_count,
        auto_approve_below_fen=row.auto_approve_below_fen, transfer_enabled=row.transfer_enabled,
        transfer_min_fen=row.transfer_min_fen, recharge_min_fen=row.recharge_min_fen,
        recharge_bonus=tuple((t["min_fen"], t["bonus_fen"]) for t in row.recharge_bonus or ()))


def get_rules(*, tenant_id: int) -> FinanceRules:
    """The tenant's finance rules (the defaults until an operator changes one)."""
    row = db.session.scalar(select(FinanceSettings).where(FinanceSettings.tenant_id == tenant_id))
    return DEFAULT_RULES if row is None else _rules_of(row)


def update_rules(*, tenant_id: int, changes: dict[str, Any], actor: str) -> FinanceRules:
    """Change some finance rules (all checked, all problems reported at once); audited."""
    tenants.lock_tenant(tenant_id=tenant_id)
    row = db.session.scalar(select(FinanceSettings).where(FinanceSettings.tenant_id == tenant_id)
                            .execution_options(populate_existing=True))
    before = DEFAULT_RULES if row is None else _rules_of(row)
    after = apply_changes(before, changes)
    if row is None:
        row = FinanceSettings(tenant_id=tenant_id)
        db.session.add(row)
    values = after.as_dict()
    for name in ("settle_after_days", "withdraw_min_fen", "withdraw_fee_min_fen", "withdraw_daily_limit_fen",
                 "withdraw_daily_count", "auto_approve_below_fen", "transfer_enabled", "transfer_min_fen",
                 "recharge_min_fen", "recharge_bonus"):
        setattr(row, name, values[name])
    row.withdraw_fee_rate = format(after.withdraw_fee_rate, "f")
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="finance.settings", target_type="finance_settings",
                 target_id=tenant_id, before=before.as_dict(), after=values)
    return after


# ------------------------------------------------------------------ order money


def _payment_spec(order_id: int, paid_fen: int) -> PostingSpec:
    return PostingSpec(key=f"order:paid:{order_id}", kind="order_paid", memo=f"订单 {order_id} 微信支付收款",
                       order_id=order_id,
                       legs=[Leg(system(K.WECHAT_CLEARING), -paid_fen), Leg(system(K.MERCHANT), paid_fen)])


def record_payment(*, tenant_id: int, order_id: int, paid_fen: int, now: datetime) -> int | None:
    """An order's WeChat Pay payment: clearing → merchant, once per order. Returns the posting id."""
    if paid_fen <= 0:
        return None
    return ledger.post_many(tenant_id=tenant_id, now=now, postings=[_payment_spec(order_id, paid_fen)])[0].posting_id


def record_refund(*, tenant_id: int, order_id: int, refund_fen: int, refund_key: str, now: datetime) -> int | None:
    """An order's refund to the buyer through WeChat Pay: merchant → clearing, once per refund_key."""
    if refund_fen <= 0:
        return None
    return ledger.post(tenant_id=tenant_id, key=f"order:refund:{refund_key}", kind="order_refund", now=now,
                       memo=f"订单 {order_id} 退款", order_id=order_id,
                       legs=[Leg(system(K.MERCHANT), -refund_fen), Leg(system(K.WECHAT_CLEARING), refund_fen)]
                       ).posting_id


class PayoutLike(Protocol):
    """What on_order(s)_paid reads of a payout (read-only: rewards' frozen RecordedPayout fits)."""

    @property
    def id(self) -> int: ...
    @property
    def order_line_id(self) -> int | None: ...
    @property
    def beneficiary_id(self) -> int | None: ...
    @property
    def amount_fen(self) -> int: ...


@dataclass(frozen=True)
class Frozen:
    """One order line's rewards as frozen by this call (created) or an earlier one."""

    order_line_id: int
    amount_fen: int  # what its beneficiaries got, together
    beneficiaries: int
    posting_id: int
    created: bool


_accruals = RewardAccrual.__table__


@dataclass(frozen=True)
class PaidOrder:
    """One paid order as on_orders_paid takes it: what WeChat Pay collected and the
    payout lines the rewards engine recorded for its lines."""

    order_id: int
    paid_fen: int
    payouts: Sequence[PayoutLike]


def _freeze(tenant_id: int, orders: Sequence[PaidOrder], now: datetime) -> dict[int, list[Frozen]]:
    """Each order's payment (when it has one) and its lines' rewards frozen: one posting
    and one accrual per order line that pays anyone, each once, whatever the number of
    calls; alerts only for the lines this call froze."""
    payments: list[PostingSpec] = []
    freezes: list[tuple[int, int, list[PayoutLike], PostingSpec]] = []  # order, line, payouts, spec
    for o in orders:
        if o.paid_fen > 0:
            payments.append(_payment_spec(o.order_id, o.paid_fen))
        by_line: dict[int, list[PayoutLike]] = {}
        for p in o.payouts:
            if p.order_line_id is None:
                raise ValueError("paid orders take order-line payouts; bonuses go to credit_bonuses")
            payable = by_line.setdefault(p.order_line_id, [])
            if p.beneficiary_id is not None and p.amount_fen > 0:
                payable.append(p)
        for line_id in sorted(by_line):
            payouts = by_line[line_id]
            if not payouts:
                continue
            legs = [Leg(member(K.MEMBER_FROZEN, p.beneficiary_id), p.amount_fen, payout_id=p.id)  # type: ignore[arg-type]
                    for p in payouts]
            legs.append(Leg(system(K.MERCHANT), -sum(p.amount_fen for p in payouts)))
            freezes.append((o.order_id, line_id, payouts, PostingSpec(
                key=f"reward:freeze:{line_id}", kind="reward_freeze", legs=legs, memo=f"订单 {o.order_id} 奖励冻结",
                order_id=o.order_id, order_line_id=line_id)))
    out: dict[int, list[Frozen]] = {o.order_id: [] for o in orders}
    specs = payments + [spec for *_, spec in freezes]
    if not specs:
        return out
    results = ledger.post_many(tenant_id=tenant_id, postings=specs, now=now)[len(payments):]
    fresh: list[tuple[int, list[PayoutLike]]] = []
    new_rows = []
    for (order_id, line_id, payouts, _), result in zip(freezes, results, strict=True):
        f = Frozen(order_line_id=line_id, amount_fen=sum(p.amount_fen for p in payouts),
                   beneficiaries=len({p.beneficiary_id for p in payouts}), posting_id=result.posting_id,
                   created=result.created)
        out[order_id].append(f)
        if f.created:  # a replayed line's accrual was written with its posting, by the first
            fresh.append((order_id, payouts))
            new_rows.append({"tenant_id": tenant_id, "order_id": order_id, "order_line_id": line_id,
                             "status": RewardStatus.FROZEN, "amount_fen": f.amount_fen, "beneficiaries": f.beneficiaries,
                             "frozen_at": now, "freeze_posting_id": f.posting_id})
    if new_rows:
        bulk.insert_rows(_accruals, new_rows)
        # "New commission" alerts, once: only for the lines this call froze.
        announce("commissions_frozen", tenant_id=tenant_id, now=now, commissions=[
            Commission(p.beneficiary_id, p.amount_fen, order_id, getattr(p, "kind", "reward"))
            for order_id, payouts in fresh for p in payouts])
    return out


def on_order_paid(*, tenant_id: int, order_id: int, paid_fen: int, payouts: Sequence[PayoutLike],
                  now: datetime) -> list[Frozen]:
    """A paid order: its payment into the ledger and its lines' rewards frozen, in one
    batch (idempotent)."""
    return _freeze(tenant_id, [PaidOrder(order_id, paid_fen, payouts)], now)[order_id]


def on_orders_paid(*, tenant_id: int, orders: Sequence[PaidOrder], now: datetime) -> dict[int, list[Frozen]]:
    """on_order_paid for several orders of one tenant in one batch (one ledger batch,
    one accruals insert, one alerts insert): the paid-order follow-up's path."""
    return _freeze(tenant_id, orders, now)


def _mark(tenant_id: int, *, exclusive: bool, now: datetime) -> SettlementMark:
    """The tenant's settlement mark, locked shared (completions) or exclusive (the job)."""
    stmt = (select(SettlementMark).where(SettlementMark.tenant_id == tenant_id)
            .with_for_update(read=not exclusive).execution_options(populate_existing=True))
    mark = db.session.scalar(stmt)
    if mark is None:
        db.session.execute(insert_ignore(SettlementMark.__table__).values(
            tenant_id=tenant_id, through_at=None, through_id=0, settled_total=0, updated_at=now))
        mark = db.session.scalar(stmt)
    assert mark is not None
    return mark


def on_order_completed(*, tenant_id: int, order_id: int, completed_at: datetime) -> int:
    """The order completed: its frozen rewards settle `settle_after_days` later. Idempotent
    (an accrual keeps its first completion time)."""
    days = get_rules(tenant_id=tenant_id).settle_after_days
    mark = _mark(tenant_id, exclusive=False, now=completed_at)  # held until commit: the job waits
    # A locking read: it sees accruals committed after this transaction's snapshot.
    rows = list(db.session.scalars(
        select(RewardAccrual).where(RewardAccrual.tenant_id == tenant_id, RewardAccrual.order_id == order_id,
                                    RewardAccrual.status == RewardStatus.FROZEN, RewardAccrual.completed_at.is_(None))
        .order_by(RewardAccrual.id).with_for_update().execution_options(populate_existing=True)))
    due = settle_due_at(completed_at, days=days, mark_at=mark.through_at)
    for r in rows:
        r.completed_at = completed_at
        r.settle_due_at = due
    db.session.flush()
    return len(rows)


def _accruals_locked(tenant_id: int, order_line_ids: Sequence[int]) -> list[RewardAccrual]:
    # A locking read by the unique (tenant, order line): it sees accruals committed after
    # this transaction's snapshot (a refund racing the payment it refunds).
    return list(db.session.scalars(
        select(RewardAccrual).where(RewardAccrual.tenant_id == tenant_id,
                                    RewardAccrual.order_line_id.in_(sorted(order_line_ids)))
        .order_by(RewardAccrual.id).with_for_update().execution_options(populate_existing=True)))


def _member_entries(tenant_id: int, accruals: Sequence[RewardAccrual]) -> dict[int, list[ledger.EntryLine]]:
    """Each accrual's frozen member entries (who got how much, by which payout)."""
    by_posting = ledger.posting_entries(tenant_id=tenant_id, posting_ids=[a.freeze_posting_id for a in accruals])
    return {a.id: [e for e in by_posting[a.freeze_posting_id] if e.account_kind == K.MEMBER_FROZEN]
            for a in accruals}


def _settle_spec(a: RewardAccrual, entries: Sequence[ledger.EntryLine]) -> PostingSpec:
    legs: list[Leg] = []
    for e in entries:
        legs.append(Leg(member(K.MEMBER_FROZEN, e.owner_key), -e.amount_fen, payout_id=e.payout_id))
        legs.append(Leg(member(K.MEMBER_AVAILABLE, e.owner_key), e.amount_fen, payout_id=e.payout_id))
    return PostingSpec(key=f"reward:settle:{a.order_line_id}", kind="reward_settle", legs=legs,
                       memo=f"订单 {a.order_id} 奖励结算，转入可提现余额", order_id=a.order_id,
                       order_line_id=a.order_line_id)


def _void_spec(a: RewardAccrual, entries: Sequence[ledger.EntryLine], *, reverse: bool) -> PostingSpec:
    kind = K.MEMBER_AVAILABLE if reverse else K.MEMBER_FROZEN
    legs = [Leg(member(kind, e.owner_key), -e.amount_fen, payout_id=e.payout_id) for e in entries]
    legs.append(Leg(system(K.MERCHANT), sum(e.amount_fen for e in entries)))
    verb = "reverse" if reverse else "cancel"
    memo = (f"订单 {a.order_id} 退款，已结算奖励冲回" if reverse else f"订单 {a.order_id} 退款，冻结奖励取消")
    return PostingSpec(key=f"reward:{verb}:{a.order_line_id}", kind=f"reward_{verb}", legs=legs, memo=memo,
                       order_id=a.order_id, order_line_id=a.order_line_id,
                       reverses_id=a.settle_posting_id if reverse else a.freeze_posting_id)


def _void(tenant_id: int, rows: Sequence[RewardAccrual], now: datetime) -> None:
    """Cancel (frozen) or reverse (settled) these locked accruals, in one batch. The
    accrual row locks make the keys ours: a line is voided once, by whoever holds it."""
    entries = _member_entries(tenant_id, rows)
    specs = [_void_spec(a, entries[a.id], reverse=a.status == RewardStatus.SETTLED) for a in rows]
    results = ledger.post_many(tenant_id=tenant_id, postings=specs, now=now, keys_owned=True)
    for a, result in zip(rows, results, strict=True):
        a.status = RewardStatus.REVERSED if a.status == RewardStatus.SETTLED else RewardStatus.CANCELLED
        a.ended_at, a.void_posting_id = now, result.posting_id


def cancel_rewards(*, tenant_id: int, order_line_ids: Sequence[int], now: datetime) -> list[RewardAccrual]:
    """Cancel the frozen rewards of these order lines (refunded before settlement).
    Lines already settled, cancelled or reversed are left as they are."""
    rows = [a for a in _accruals_locked(tenant_id, order_line_ids) if a.status == RewardStatus.FROZEN]
    _void(tenant_id, rows, now)
    db.session.flush()
    return rows


def reverse_rewards(*, tenant_id: int, order_line_ids: Sequence[int], now: datetime) -> list[RewardAccrual]:
    """Reverse the settled rewards of these order lines (refunded after settlement): new
    postings take them back from the available balance, which may go below zero."""
    rows = [a for a in _accruals_locked(tenant_id, order_line_ids) if a.status == RewardStatus.SETTLED]
    _void(tenant_id, rows, now)
    db.session.flush()
    return rows


@dataclass
class VoidResult:
    cancelled: list[int] = field(default_factory=list)  # order line ids whose frozen rewards were cancelled
    reversed: list[int] = field(default_factory=list)  # order line ids whose settled rewards were reversed
    refund_posting_id: int | None = None


def on_lines_refunded(*, tenant_id: int, order_id: int, order_line_ids: Sequence[int], now: datetime,
                      refund_fen: int | None = None, refund_key: str | None = None) -> VoidResult:
    """Refunded order lines: the refund into the ledger (when refund_fen is given, once per
    refund_key) and each line's rewards cancelled (frozen) or reversed (settled)."""
    out = VoidResult()
    if refund_fen:
        if not refund_key:
            raise ValueError("refund_key is required with refund_fen")
        out.refund_posting_id = record_refund(tenant_id=tenant_id, order_id=order_id, refund_fen=refund_fen,
                                              refund_key=refund_key, now=now)
    rows = [a for a in _accruals_locked(tenant_id, order_line_ids) if a.status in (RewardStatus.FROZEN, RewardStatus.SETTLED)]
    for a in rows:
        (out.reversed if a.status == RewardStatus.SETTLED else out.cancelled).append(a.order_line_id)
    _void(tenant_id, rows, now)
    db.session.flush()
    return out


def order_rewards(*, tenant_id: int, order_id: int) -> list[RewardAccrual]:
    """The reward accruals of one order, by order line."""
    return list(db.session.scalars(select(RewardAccrual).where(
        RewardAccrual.tenant_id == tenant_id, RewardAccrual.order_id == order_id).order_by(RewardAccrual.id)))


def rewards_by_line(*, tenant_id: int, order_ids: Sequence[int]) -> dict[int, int]:
    """What the members' rewards on each order line of these orders come to (fen, by
    order line id), whatever their state."""
    if not order_ids:
        return {}
    return {line_id: int(fen) for line_id, fen in db.session.execute(
        select(RewardAccrual.order_line_id, RewardAccrual.amount_fen).where(
            RewardAccrual.tenant_id == tenant_id, RewardAccrual.order_id.in_(sorted(set(order_ids)))))}


def credit_bonuses(*, tenant_id: int, payouts: Sequence[PayoutLike], now: datetime) -> int:
    """Referral and team bonuses (no order line, nothing to refund): straight into the
    available balance, once per payout. Returns how many were posted now."""
    specs = [PostingSpec(key=f"reward:bonus:{p.id}", kind="reward_bonus", memo="团队奖励入账",
                         member_id=p.beneficiary_id,
                         legs=[Leg(system(K.MERCHANT), -p.amount_fen),
                               Leg(member(K.MEMBER_AVAILABLE, p.beneficiary_id), p.amount_fen, payout_id=p.id)])
             for p in sorted(payouts, key=lambda p: p.id) if p.beneficiary_id is not None and p.amount_fen > 0]
    return sum(r.created for r in ledger.post_many(tenant_id=tenant_id, postings=specs, now=now))


BONUS_SOURCES = ("referral", "team")
BONUS_SETTLE_LAG = timedelta(minutes=10)  # no unit of work runs longer: later rows are final


def credit_recorded_bonuses(*, now: datetime, limit: int = 1000) -> int:
    """Post the referral and team bonuses the rewards service recorded (level rises,
    team periods) to the members' available balances, once each. Scans reward payouts
    past a cursor that only moves over rows older than a few minutes, so a bonus
    committed late is still seen; re-seeing one is a no-op (its posting key).
    Returns how many were posted."""

    cursor = db.session.scalar(select(FinanceCursor).where(FinanceCursor.name == "reward_bonuses")
                               .with_for_update().execution_options(populate_existing=True))
    if cursor is None:
        db.session.execute(insert_ignore(FinanceCursor.__table__).values(name="reward_bonuses", position=0,
                                                                         updated_at=now))
        cursor = db.session.scalar(select(FinanceCursor).where(FinanceCursor.name == "reward_bonuses")
                                   .with_for_update())
    assert cursor is not None
    rows = rewards.payouts_after(after_id=cursor.position, source_types=BONUS_SOURCES, limit=limit)
    by_tenant: dict[int, list[Any]] = {}
    for p in rows:
        by_tenant.setdefault(p.tenant_id, []).append(p)
    posted = sum(credit_bonuses(tenant_id=t, payouts=ps, now=now) for t, ps in sorted(by_tenant.items()))
    for p in rows:  # move over the old ones, in id order, up to the first recent one
        if p.created_at > now - BONUS_SETTLE_LAG:
            break
        cursor.position = p.id
    cursor.updated_at = now
    return posted


# ------------------------------------------------------------------ settlement


def due_tenants(*, now: datetime) -> list[int]:
    """Tenants with frozen rewards due for settlement at `now`."""
    return list(db.session.scalars(
        select(RewardAccrual.tenant_id).where(RewardAccrual.status == RewardStatus.FROZEN,
                                              RewardAccrual.settle_due_at <= now)
        .group_by(RewardAccrual.tenant_id).order_by(RewardAccrual.tenant_id)))


def settle_due_batch(*, tenant_id: int, now: datetime, limit: int = 200) -> int:
    """Settle up to `limit` due accruals of a tenant past the high-water mark, in
    (due time, id) order, and move the mark to the last one. Returns how many.

    The mark row is locked exclusively first: a second scheduler waits here and then
    starts after the first's mark; completions wait too, so none is scheduled behind it.
    The accruals are locked too, which makes their settlement keys this batch's own.
    """
    mark = _mark(tenant_id, exclusive=True, now=now)
    stmt = select(RewardAccrual).where(RewardAccrual.tenant_id == tenant_id, RewardAccrual.status == RewardStatus.FROZEN,
                                       RewardAccrual.settle_due_at.is_not(None), RewardAccrual.settle_due_at <= now)
    if mark.through_at is not None:
        stmt = stmt.where(or_(RewardAccrual.settle_due_at > mark.through_at,
                              and_(RewardAccrual.settle_due_at == mark.through_at,
                                   RewardAccrual.id > mark.through_id)))
    rows = list(db.session.scalars(
        stmt.order_by(RewardAccrual.settle_due_at, RewardAccrual.id).limit(limit).with_for_update()
        .execution_options(populate_existing=True)))
    if not rows:
        return 0
    entries = _member_entries(tenant_id, rows)
    results = ledger.post_many(tenant_id=tenant_id, postings=[_settle_spec(a, entries[a.id]) for a in rows],
                               now=now, keys_owned=True)
    db.session.execute(  # one statement for the batch, not one UPDATE per accrual
        update(RewardAccrual.__table__).where(RewardAccrual.__table__.c.id.in_([a.id for a in rows]))
        .values(status=RewardStatus.SETTLED, ended_at=now, settle_posting_id=case(
            {a.id: r.posting_id for a, r in zip(rows, results, strict=True)},
            value=RewardAccrual.__table__.c.id)))
    settled: dict[int, list[int]] = {}  # member id -> [fen, order lines]
    for a in rows:
        for e in entries[a.id]:
            totals = settled.setdefault(e.owner_key, [0, 0])
            totals[0] += e.amount_fen
            totals[1] += 1
    for member_id, (fen, n) in sorted(settled.items()):
        alert(tenant_id=tenant_id, member_id=member_id, kind="settlement", data={"amount_fen": fen, "count": n},
              dedupe_key=f"{rows[-1].id}:{member_id}", now=now)
    last_due, last_id = rows[-1].settle_due_at, rows[-1].id
    for a in rows:
        db.session.expire(a)  # changed behind the ORM's back just above
    mark.through_at, mark.through_id = last_due, last_id
    mark.settled_total += len(rows)
    mark.updated_at = now
    db.session.flush()
    return len(rows)


def settlement_mark(*, tenant_id: int) -> dict[str, Any]:
    """Where the settlement job stands for a tenant."""
    mark = db.session.scalar(select(SettlementMark).where(SettlementMark.tenant_id == tenant_id))
    if mark is None:
        return {"through_at": None, "through_id": 0, "settled_total": 0}
    return {"through_at": mark.through_at.isoformat() if mark.through_at else None,
            "through_id": mark.through_id, "settled_total": mark.settled_total}


# ------------------------------------------------------------------ stored value and transfers


def pay_with_stored_value(*, tenant_id: int, member_id: int, order_id: int, amount_fen: int,
                          now: datetime) -> int:
    """Pay (part of) an order from the member's stored value, once per order; 409
    insufficient_balance when it does not cover the amount. Returns the posting id."""
    return ledger.post(tenant_id=tenant_id, key=f"order:stored:{order_id}", kind="stored_spend", now=now,
                       memo=f"订单 {order_id} 余额支付", member_id=member_id, order_id=order_id,
                       legs=[Leg(member(K.MEMBER_STORED, member_id), -amount_fen, covered=True),
                             Leg(system(K.MERCHANT), amount_fen)]).posting_id


def refund_stored_value(*, tenant_id: int, member_id: int, order_id: int, amount_fen: int, refund_key: str,
                        now: datetime) -> int:
    """Give stored value back for a refunded order, once per refund_key."""
    return ledger.post(tenant_id=tenant_id, key=f"order:stored-refund:{refund_key}", kind="stored_refund",
                       now=now, memo=f"订单 {order_id} 退款退回余额", member_id=member_id, order_id=order_id,
                       legs=[Leg(system(K.MERCHANT), -amount_fen),
                             Leg(member(K.MEMBER_STORED, member_id), amount_fen)]).posting_id


def transfer_balance(*, tenant_id: int, from_member_id: int, amount_fen: int, client_token: str,
                     now: datetime, to_member_id: int | None = None, to_invite_code: str | None = None,
                     note: str = "") -> BalanceTransfer:
    """余额转赠: move stored value to another member of the tenant, once per client_token."""
    existing = db.session.scalar(select(BalanceTransfer).where(
        BalanceTransfer.tenant_id == tenant_id, BalanceTransfer.from_member_id == from_member_id,
        BalanceTransfer.client_token == client_token))
    if existing is not None:
        return existing
    rules = get_rules(tenant_id=tenant_id)
    if not rules.transfer_enabled:
        raise TransferDisabled()
    if to_invite_code is not None:
        to_member_id = members.find_by_invite_code(tenant_id=tenant_id, code=to_invite_code).id
    if to_member_id is None:
        raise TransferInvalid("请指定转赠对象")
    if to_member_id == from_member_id:
        raise TransferInvalid("不能转赠给自己")
    members.get_member(tenant_id=tenant_id, member_id=to_member_id)
    if amount_fen < rules.transfer_min_fen:
        raise TransferInvalid(f"单笔转赠不少于 {rules.transfer_min_fen / 100:.2f} 元", code="transfer_below_minimum")
    result = ledger.post(tenant_id=tenant_id, key=f"transfer:{from_member_id}:{client_token}", kind="transfer",
                         now=now, memo=f"余额转赠：会员 {from_member_id} → 会员 {to_member_id}",
                         member_id=from_member_id,
                         legs=[Leg(member(K.MEMBER_STORED, from_member_id), -amount_fen, covered=True),
                               Leg(member(K.MEMBER_STORED, to_member_id), amount_fen)])
    if not result.created:  # the same request, racing itself: return what the first wrote
        again = db.session.scalar(select(BalanceTransfer).where(
            BalanceTransfer.tenant_id == tenant_id, BalanceTransfer.from_member_id == from_member_id,
            BalanceTransfer.client_token == client_token).with_for_update(read=True)
            .execution_options(populate_existing=True))
        if again is not None:
            return again
    row = BalanceTransfer(tenant_id=tenant_id, from_member_id=from_member_id, to_member_id=to_member_id,
                          amount_fen=amount_fen, note=note[:60], client_token=client_token,
                          posting_id=result.posting_id, created_at=now)
    db.session.add(row)
    db.session.flush()
    return row


# ------------------------------------------------------------------ recharge


def pay_notify_base(*, tenant_slug: str) -> str:
    """Where WeChat Pay sends this tenant's finance notifications (public base URL)."""
    base = current_app.config["SIYU_SETTINGS"].public_base_url.rstrip("/")
    return f"{base}/api/v1/pay"


def create_recharge(*, tenant_id: int, member_id: int, amount_fen: int, now: datetime) -> tuple[Recharge, Any]:
    """Start a recharge: the row (bonus fixed by today's tiers) and a WeChat Pay prepay
    whose notification comes back to the finance notify endpoint."""

    rules = get_rules(tenant_id=tenant_id)
    if amount_fen < rules.recharge_min_fen:
        raise RechargeInvalid(f"单笔充值不少于 {rules.recharge_min_fen / 100:.2f} 元")
    m = members.get_member(tenant_id=tenant_id, member_id=member_id)
    if not m.openid:
        raise RechargeInvalid("尚未绑定小程序微信身份，无法充值", code="payer_unknown")
    tenant = get_tenant(tenant_id=tenant_id)
    row = Recharge(tenant_id=tenant_id, member_id=member_id, amount_fen=amount_fen,
                   bonus_fen=recharge_bonus(rules, amount_fen), status=RechargeStatus.CREATED,
                   out_trade_no=f"RC{now:%Y%m%d}{secrets.token_hex(8)}", created_at=now)
    db.session.add(row)
    db.session.flush()
    creds = pay_credentials(tenant_id=tenant_id)
    prepay = gateway().pay(creds).jsapi_prepay(
        out_trade_no=row.out_trade_no, description=f"{tenant.name}-余额充值", amount_fen=amount_fen,
        payer_openid=m.openid, attach="recharge",
        notify_url=f"{pay_notify_base(tenant_slug=tenant.slug)}/recharge-notify/{tenant.slug}")
    row.prepay_id = prepay.prepay_id
    return row, prepay


def _record_mismatch(tenant_id: int, *, what: str, ref: str, ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    record_audit(tenant_id=tenant_id, actor="wechatpay", action=f"finance.{what}_mismatch", target_type=what,
                 target_id=ref, before=ours, after=theirs)


def on_recharge_paid(*, tenant_id: int, transaction: Any, now: datetime) -> str:
    """A verified TRANSACTION.SUCCESS for a recharge: checks merchant, app and amount
    against the row, then credits the stored value and its bonus once.
    Returns "credited", "duplicate" or "mismatch" (recorded for the operator)."""
    row = db.session.scalar(select(Recharge).where(Recharge.tenant_id == tenant_id,
                                                   Recharge.out_trade_no == transaction.out_trade_no)
                            .with_for_update().execution_options(populate_existing=True))
    if row is None:
        raise RechargeNotFound()
    creds = pay_credentials(tenant_id=tenant_id)
    ours = {"mchid": creds.mchid, "appid": creds.appid, "amount_fen": row.amount_fen, "state": "SUCCESS"}
    theirs = {"mchid": transaction.mchid, "appid": transaction.appid,
              "amount_fen": transaction.amount_total_fen, "state": transaction.trade_state}
    if ours != theirs:
        _record_mismatch(tenant_id, what="recharge", ref=row.out_trade_no, ours=ours, theirs=theirs)
        return "mismatch"
    if row.status == RechargeStatus.PAID:
        return "duplicate"
    legs = [Leg(system(K.WECHAT_CLEARING), -row.amount_fen), Leg(member(K.MEMBER_STORED, row.member_id),
                                                                   row.amount_fen)]
    if row.bonus_fen:
        legs += [Leg(system(K.MERCHANT), -row.bonus_fen), Leg(member(K.MEMBER_STORED, row.member_id),
                                                               row.bonus_fen)]
    memo = f"充值 {row.amount_fen / 100:.2f} 元" + (f"，赠送 {row.bonus_fen / 100:.2f} 元" if row.bonus_fen else "")
    row.posting_id = ledger.post(tenant_id=tenant_id, key=f"recharge:{row.id}", kind="recharge", legs=legs,
                                 now=now, memo=memo, member_id=row.member_id).posting_id
    row.status, row.transaction_id, row.paid_at = RechargeStatus.PAID, transaction.transaction_id, now
    announce("recharge_paid", tenant_id=tenant_id, member_id=row.member_id, amount_fen=row.amount_fen, now=now)
    return "credited"


def recharge_totals(*, tenant_id: int, member_ids: Sequence[int] | None) -> dict[int, tuple[int, int]]:
    """Paid recharges per member: (cumulative fen, largest single fen), for the upgrade
    facts cumulative_recharge_fen / single_recharge_fen (set-based, one query); every
    member who recharged when member_ids is None."""
    out = {m: (0, 0) for m in member_ids or ()}
    if member_ids is not None and not member_ids:
        return out
    stmt = (select(Recharge.member_id, func.sum(Recharge.amount_fen), func.max(Recharge.amount_fen))
            .where(Recharge.tenant_id == tenant_id, Recharge.status == RechargeStatus.PAID).group_by(Recharge.member_id))
    if member_ids is not None:
        stmt = stmt.where(Recharge.member_id.in_(list(member_ids)))
    rows = db.session.execute(stmt)
    for member_id, total, largest in rows:
        out[member_id] = (int(total or 0), int(largest or 0))
    return out


def recharge_trade_nos(*, tenant_id: int, recharge_ids: Sequence[int]) -> dict[int, str]:
    """The WeChat Pay out_trade_no of these recharges, by recharge id."""
    if not recharge_ids:
        return {}
    return dict(db.session.execute(select(Recharge.id, Recharge.out_trade_no).where(
        Recharge.tenant_id == tenant_id, Recharge.id.in_(sorted(set(recharge_ids))))).all())


def get_recharge(*, tenant_id: int, member_id: int, recharge_id: int) -> Recharge:
    """One of the member's recharges."""
    row = db.session.get(Recharge, recharge_id)
    if row is None or row.tenant_id != tenant_id or row.member_id != member_id:
        raise RechargeNotFound()
    return row


def recharge_view(r: Recharge) -> dict[str, Any]:
    return {"id": r.id, "amount_fen": r.amount_fen, "bonus_fen": r.bonus_fen, "status": r.status,
            "out_trade_no": r.out_trade_no, "created_at": r.created_at.isoformat(),
            "paid_at": r.paid_at.isoformat() if r.paid_at else None}


# ------------------------------------------------------------------ notifications


def handle_finance_notification(*, tenant_slug: str, headers: Any, body: bytes, now: datetime,
                                expect: str) -> str:
    """A WeChat Pay notification for finance (expect "transfer" or "recharge"): verify
    (401 bad_signature / stale_notification), decrypt, dispatch. Returns the outcome;
    "mismatch" is recorded for the operator and must be answered as a failure."""
    tenant = get_tenant_by_slug(slug=tenant_slug)
    notification = parse_pay_notification(pay_credentials(tenant_id=tenant.id), headers=headers, body=body,
                                           now=now)
    if notification.kind == "transfer" and expect == "transfer":
        from backend.finance.withdrawals import on_transfer_bill

        return on_transfer_bill(tenant_id=tenant.id, bill=notification.transfer_bill(), now=now)
    if notification.kind == "transaction" and expect == "recharge":
        return on_recharge_paid(tenant_id=tenant.id, transaction=notification.transaction(), now=now)
    raise UnknownBill("通知类型与接收地址不符")



def reversed_order_lines(*, tenant_id: int, order_line_ids: Sequence[int]) -> set[int]:
    """Which of these order lines had their rewards settled before a refund reversed them
    (the rest were cancelled while frozen, or never paid anyone)."""
    if not order_line_ids:
        return set()
    return set(db.session.scalars(select(RewardAccrual.order_line_id).where(
        RewardAccrual.tenant_id == tenant_id, RewardAccrual.order_line_id.in_(list(order_line_ids)),
        RewardAccrual.status == RewardStatus.REVERSED)))


def record_offline_payment(*, tenant_id: int, order_id: int, amount_fen: int, reference: str, now: datetime) -> int:
    """Money for an order received outside WeChat Pay (线下支付): offline clearing →
    merchant, once per order. Returns the posting id."""
    return ledger.post(tenant_id=tenant_id, key=f"order:offline:{order_id}", kind="order_paid_offline", now=now,
                       memo=f"订单 {order_id} 线下收款（{reference}）", order_id=order_id,
                       legs=[Leg(system(K.OFFLINE_CLEARING), -amount_fen), Leg(system(K.MERCHANT), amount_fen)]
                       ).posting_id


def record_offline_refund(*, tenant_id: int, order_id: int, amount_fen: int, refund_key: str,
                          now: datetime) -> int:
    """Money of an offline-paid order returned to the buyer outside WeChat Pay: merchant →
    offline clearing, once per refund_key (finance pays it back by the same route)."""
    return ledger.post(tenant_id=tenant_id, key=f"order:offline-refund:{refund_key}", kind="order_refund_offline",
                       now=now, memo=f"订单 {order_id} 线下退款", order_id=order_id,
                       legs=[Leg(system(K.MERCHANT), -amount_fen), Leg(system(K.OFFLINE_CLEARING), amount_fen)]
                       ).posting_id
