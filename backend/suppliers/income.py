"""A supplier's income (货款) through its life, one row and one posting per order line,
by the same rules as members' rewards (SPEC §6):

    paid       merchant → supplier_frozen        income = paid − commission − rewards borne
    completed  settles `settle_after_days` (the tenant's after-sales window) later
    settled    supplier_frozen → supplier_available   (the settlement job; on an order
               paid for profit sharing, split to the supplier instead: sharing.py)
    refunded   before settlement: supplier_frozen → merchant (cancelled)
               after settlement:  supplier_available → merchant (reversed; may go below zero)

Every posting has its key (`supplier:<verb>:<order line>`) and every change happens
under the income row's lock, so a replay, a retry or a second runner changes nothing
twice. Called from the orders domain's money hooks (under the order's row lock) and
from the settlement job. Functions here never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from backend.db import is_mysql
from backend.extensions import db
from backend.finance import service as finance
from backend.ledger import service as ledger
from backend.ledger.service import Leg, PostingSpec, supplier, system
from backend.ledger.types import AccountKind as K
from backend.money import apply_rate, yuan
from backend.suppliers import service as suppliers
from backend.suppliers.models import Supplier, SupplierIncome
from backend.suppliers.types import IncomeStatus


@dataclass(frozen=True)
class PaidLine:
    id: int
    product_id: int
    paid_fen: int


@dataclass(frozen=True)
class PaidOrderLines:
    """One paid order as the income hook reads it: its lines and, per line, the members'
    rewards the rewards engine recorded on it."""

    order_id: int
    lines: Sequence[PaidLine]
    rewards_by_line: Mapping[int, int]


def _locked(tenant_id: int, *, order_line_ids: Sequence[int] | None = None, order_id: int | None = None,
            ids: Sequence[int] | None = None) -> list[SupplierIncome]:
    stmt = select(SupplierIncome).where(SupplierIncome.tenant_id == tenant_id)
    if order_line_ids is not None:
        stmt = stmt.where(SupplierIncome.order_line_id.in_(sorted(order_line_ids)))
    if order_id is not None:
        stmt = stmt.where(SupplierIncome.order_id == order_id)
    if ids is not None:
        stmt = stmt.where(SupplierIncome.id.in_(sorted(ids)))
    return list(db.session.scalars(stmt.order_by(SupplierIncome.id).with_for_update()
                                   .execution_options(populate_existing=True)))


def on_orders_paid(*, tenant_id: int, orders: Sequence[PaidOrderLines], now: datetime) -> list[SupplierIncome]:
    """Freeze the suppliers' income of these paid orders' lines, once per line. Lines of
    the tenant's own products are skipped. Returns the rows this call created."""
    all_lines = [ln for o in orders for ln in o.lines]
    owners = suppliers.owners_of(tenant_id=tenant_id, product_ids=[ln.product_id for ln in all_lines])
    mine = [ln for ln in all_lines if ln.product_id in owners]
    if not mine:
        return []
    done = {r.order_line_id for r in _locked(tenant_id, order_line_ids=[ln.id for ln in mine])}
    rules = suppliers.get_rules(tenant_id=tenant_id)
    supplier_rows = {s.id: s for s in db.session.scalars(select(Supplier).where(
        Supplier.tenant_id == tenant_id, Supplier.id.in_(sorted({owners[ln.product_id][0] for ln in mine}))))}
    rows: list[SupplierIncome] = []
    specs: list[PostingSpec] = []
    for o in orders:
        for ln in o.lines:
            if ln.product_id not in owners or ln.id in done:
                continue
            supplier_id, category = owners[ln.product_id]
            rate = suppliers.commission_rate_for(rules, supplier_rows[supplier_id], category)
            commission = apply_rate(ln.paid_fen, rate)
            borne = o.rewards_by_line.get(ln.id, 0) if rules.suppliers_bear_rewards else 0
            income = max(ln.paid_fen - commission - borne, 0)
            row = SupplierIncome(tenant_id=tenant_id, supplier_id=supplier_id, order_id=o.order_id,
                                 order_line_id=ln.id, paid_fen=ln.paid_fen, commission_rate=format(rate, "f"),
                                 commission_fen=commission, rewards_fen=borne, income_fen=income, status=IncomeStatus.FROZEN,
                                 frozen_at=now)
            rows.append(row)
            if income > 0:
                specs.append(PostingSpec(
                    key=f"supplier:freeze:{ln.id}", kind="supplier_freeze", order_id=o.order_id, order_line_id=ln.id,
                    memo=f"订单 {o.order_id} 供应商货款冻结 {yuan(income)} 元（佣金 {yuan(commission)}"
                         + (f"，承担奖励 {yuan(borne)}" if borne else "") + "）",
                    legs=[Leg(system(K.MERCHANT), -income), Leg(supplier(K.SUPPLIER_FROZEN, supplier_id), income)]))
    results = {r_spec.key: res for r_spec, res in zip(specs, ledger.post_many(tenant_id=tenant_id, postings=specs,
                                                                                now=now), strict=True)}
    for row in rows:
        res = results.get(f"supplier:freeze:{row.order_line_id}")
        row.freeze_posting_id = res.posting_id if res else None
        db.session.add(row)
    db.session.flush()
    return rows


def on_order_completed(*, tenant_id: int, order_id: int, completed_at: datetime) -> int:
    """The order completed: its suppliers' frozen income settles after the tenant's
    after-sales window (the rewards' `settle_after_days`). Idempotent."""
    rows = [r for r in _locked(tenant_id, order_id=order_id) if r.status == IncomeStatus.FROZEN and r.completed_at is None]
    if not rows:
        return 0
    days = finance.get_rules(tenant_id=tenant_id).settle_after_days
    due = (completed_at + timedelta(days=days)).replace(microsecond=0)
    for r in rows:
        r.completed_at, r.settle_due_at = completed_at, due
    db.session.flush()
    return len(rows)


def _void_spec(r: SupplierIncome) -> PostingSpec:
    reverse = r.status == IncomeStatus.SETTLED
    kind = K.SUPPLIER_AVAILABLE if reverse else K.SUPPLIER_FROZEN
    verb = "reverse" if reverse else "cancel"
    memo = (f"订单 {r.order_id} 售后退款，已结算货款冲回" if reverse else f"订单 {r.order_id} 退款，冻结货款取消")
    return PostingSpec(key=f"supplier:{verb}:{r.order_line_id}", kind=f"supplier_{verb}", memo=memo,
                       order_id=r.order_id, order_line_id=r.order_line_id,
                       reverses_id=r.settle_posting_id if reverse else r.freeze_posting_id,
                       legs=[Leg(supplier(kind, r.supplier_id), -r.income_fen), Leg(system(K.MERCHANT), r.income_fen)])


def on_lines_refunded(*, tenant_id: int, order_line_ids: Sequence[int], now: datetime) -> dict[str, list[int]]:
    """Refunded lines: their income cancelled (frozen) or reversed (settled), once.
    Returns the order line ids per outcome."""
    out: dict[str, list[int]] = {"cancelled": [], "reversed": []}
    rows = [r for r in _locked(tenant_id, order_line_ids=order_line_ids) if r.status in (IncomeStatus.FROZEN, IncomeStatus.SETTLED)]
    # A share split to the supplier's merchant account came back before the refund
    # (分账回退, sharing.return_shares): that posting already took it back.
    returned = [r for r in rows if r.return_posting_id is not None]
    rows = [r for r in rows if r.return_posting_id is None]
    for r in returned:
        r.status, r.ended_at, r.void_posting_id = IncomeStatus.REVERSED, now, r.return_posting_id
        out["reversed"].append(r.order_line_id)
    specs = [_void_spec(r) for r in rows if r.income_fen > 0]
    results = {s.key: res for s, res in zip(specs, ledger.post_many(tenant_id=tenant_id, postings=specs, now=now,
                                                                     keys_owned=True), strict=True)}
    for r in rows:
        verb = "reverse" if r.status == IncomeStatus.SETTLED else "cancel"
        res = results.get(f"supplier:{verb}:{r.order_line_id}")
        r.void_posting_id = res.posting_id if res else None
        r.status = IncomeStatus.REVERSED if verb == "reverse" else IncomeStatus.CANCELLED
        r.ended_at = now
        out["reversed" if verb == "reverse" else "cancelled"].append(r.order_line_id)
    db.session.flush()
    return out


def due_tenants(*, now: datetime) -> list[int]:
    """Tenants with supplier income due for settlement at `now`."""
    return list(db.session.scalars(
        select(SupplierIncome.tenant_id).where(SupplierIncome.status == IncomeStatus.FROZEN, SupplierIncome.settle_due_at <= now)
        .group_by(SupplierIncome.tenant_id).order_by(SupplierIncome.tenant_id)))


def due_income(*, tenant_id: int, now: datetime, limit: int = 200) -> list[SupplierIncome]:
    """Up to `limit` due frozen rows of a tenant, locked (SKIP LOCKED where the database
    has it, so concurrent runners take different rows), oldest due first."""
    stmt = (select(SupplierIncome).where(SupplierIncome.tenant_id == tenant_id, SupplierIncome.status == IncomeStatus.FROZEN,
                                         SupplierIncome.settle_due_at <= now)
            .order_by(SupplierIncome.id).limit(limit))
    stmt = stmt.with_for_update(skip_locked=True) if is_mysql() else stmt.with_for_update()
    return list(db.session.scalars(stmt.execution_options(populate_existing=True)))


def settle_to_balance(*, tenant_id: int, rows: Sequence[SupplierIncome], now: datetime) -> int:
    """Settle these locked due rows into the suppliers' available balances. Returns how many."""
    rows = [r for r in rows if r.status == IncomeStatus.FROZEN]
    specs = [PostingSpec(key=f"supplier:settle:{r.order_line_id}", kind="supplier_settle", order_id=r.order_id,
                         order_line_id=r.order_line_id, memo=f"订单 {r.order_id} 供应商货款结算，转入可提现余额",
                         legs=[Leg(supplier(K.SUPPLIER_FROZEN, r.supplier_id), -r.income_fen),
                               Leg(supplier(K.SUPPLIER_AVAILABLE, r.supplier_id), r.income_fen)])
             for r in rows if r.income_fen > 0]
    results = {s.key: res for s, res in zip(specs, ledger.post_many(tenant_id=tenant_id, postings=specs, now=now,
                                                                     keys_owned=True), strict=True)}
    for r in rows:
        res = results.get(f"supplier:settle:{r.order_line_id}")
        r.settle_posting_id = res.posting_id if res else None
        r.status, r.ended_at = IncomeStatus.SETTLED, now
    db.session.flush()
    return len(rows)


def income_of_orders(*, tenant_id: int, order_ids: Sequence[int]) -> dict[int, list[SupplierIncome]]:
    """The income rows of these orders, per order id."""
    out: dict[int, list[SupplierIncome]] = {o: [] for o in order_ids}
    if order_ids:
        for r in db.session.scalars(select(SupplierIncome).where(
                SupplierIncome.tenant_id == tenant_id, SupplierIncome.order_id.in_(list(order_ids)))
                .order_by(SupplierIncome.id)):
            out[r.order_id].append(r)
    return out


def income_summary(*, tenant_id: int, supplier_id: int) -> dict[str, Any]:
    """A supplier's income per status (lines, paid, commission, rewards, income) and its balances."""
    rows = db.session.execute(
        select(SupplierIncome.status, func.count(), func.sum(SupplierIncome.paid_fen),
               func.sum(SupplierIncome.commission_fen), func.sum(SupplierIncome.rewards_fen),
               func.sum(SupplierIncome.income_fen))
        .where(SupplierIncome.tenant_id == tenant_id, SupplierIncome.supplier_id == supplier_id)
        .group_by(SupplierIncome.status))
    balances = ledger.balances_of(tenant_id=tenant_id, owner_id=-supplier_id)
    return {"frozen_fen": balances.get(K.SUPPLIER_FROZEN, 0), "available_fen": balances.get(K.SUPPLIER_AVAILABLE, 0),
            "by_status": {status: {"lines": int(n), "paid_fen": int(p or 0), "commission_fen": int(c or 0),
                                   "rewards_fen": int(rw or 0), "income_fen": int(i or 0)}
                          for status, n, p, c, rw, i in rows}}


def income_view(r: SupplierIncome) -> dict[str, Any]:
    return {"id": r.id, "order_id": r.order_id, "order_line_id": r.order_line_id, "supplier_id": r.supplier_id,
            "paid_fen": r.paid_fen, "commission_rate": r.commission_rate, "commission_fen": r.commission_fen,
            "rewards_fen": r.rewards_fen, "income_fen": r.income_fen, "status": r.status,
            "settle_due_at": r.settle_due_at.isoformat() if r.settle_due_at else None,
            "ended_at": r.ended_at.isoformat() if r.ended_at else None}
