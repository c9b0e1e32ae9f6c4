"""The boss's views of the sales team: each staff member's work per day, and handing a
leaving member's customers to another (history kept: old periods end, new ones start).

Both are set-based: the workload is three grouped queries whatever the team size,
the hand-over a handful of statements per thousand customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from backend.audit.service import record_audit
from backend.extensions import db
from backend.scrm import orders_port
from backend.scrm.access import acting_staff, china_day, day_start
from backend.scrm.errors import InvalidHandover, InvalidPeriod
from backend.scrm.models import Customer, CustomerEvent, Ownership, Reminder
from backend.scrm.types import ReminderStatus
from backend.staff import service as staff_accounts
from backend.staff.service import get_staff

MAX_DAYS = 92
CHUNK = 1000
# timeline kinds → workload columns (each counts distinct customers per staff per day)
COUNTED = {"added": "customers_added", "tag_add": "customers_tagged",
           "follow_up": "customers_followed_up", "remark": "customers_remarked"}
ZERO = {"customers_added": 0, "customers_tagged": 0, "customers_followed_up": 0,
        "customers_remarked": 0, "orders": 0, "sales_fen": 0}


def staff_workload(*, tenant_id: int, start: date, end: date) -> dict[str, Any]:
    """Per staff member and China-local day from start to end (inclusive): customers added,
    tagged, followed up, remarked, and paid orders / net sales (fen) of the customers they
    owned when each order was paid; with totals per staff member and customers owned now."""
    if end < start or (end - start).days >= MAX_DAYS:
        raise InvalidPeriod(details=[{"field": "end", "message": f"须在开始日期后 {MAX_DAYS} 天内"}])
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    bounds = [day_start(d) for d in [*days, end + timedelta(days=1)]]
    cells: dict[tuple[int | None, date], dict[str, int]] = {}

    def cell(staff_id: int | None, day: date) -> dict[str, int]:
        return cells.setdefault((staff_id, day), dict(ZERO))

    rows = db.session.execute(
        select(CustomerEvent.staff_id, CustomerEvent.day, CustomerEvent.kind,
               func.count(func.distinct(CustomerEvent.customer_id)))
        .where(CustomerEvent.tenant_id == tenant_id, CustomerEvent.day >= start,
               CustomerEvent.day <= end, CustomerEvent.kind.in_(list(COUNTED)),
               CustomerEvent.staff_id.is_not(None))
        .group_by(CustomerEvent.staff_id, CustomerEvent.day, CustomerEvent.kind))
    for staff_id, day, kind, n in rows:
        cell(staff_id, day)[COUNTED[kind]] = int(n)
    for staff_id, day, orders, sales in orders_port.sales_by_owner(tenant_id=tenant_id, days=days,
                                                                   bounds=bounds):
        c = cell(staff_id, day)
        c["orders"], c["sales_fen"] = orders, sales
    owned = {sid: n for sid, n in db.session.execute(
        select(Customer.owner_staff_id, func.count()).where(
            Customer.tenant_id == tenant_id, Customer.owner_staff_id.is_not(None))
        .group_by(Customer.owner_staff_id))}
    accounts = staff_accounts.list_staff(tenant_id=tenant_id)
    staff_out = []
    for account in accounts:
        per_day = [{"day": d.isoformat(), **cells.get((account.id, d), ZERO)} for d in days]
        total = {k: sum(cells.get((account.id, d), ZERO)[k] for d in days) for k in ZERO}
        staff_out.append({"staff_id": account.id, "name": account.display_name,
                          "role": account.role, "status": account.status,
                          "customers_owned": int(owned.get(account.id, 0)),
                          "days": per_day, "total": total})
    return {"start": start.isoformat(), "end": end.isoformat(),
            "days": [d.isoformat() for d in days], "staff": staff_out}


def today(now: datetime) -> date:
    """The China-local day of now (the workload view's default)."""
    return china_day(now)


def hand_over_customers(*, tenant_id: int, from_staff_id: int, to_staff_id: int, actor: str,
                        now: datetime, customer_ids: Sequence[int] | None = None) -> int:
    """Move a (leaving) staff member's customers — all, or the given ones — to another active
    staff member: their ownership periods end and new ones start, pending reminders move,
    and each customer's timeline says so. Audited; returns how many moved."""
    if from_staff_id == to_staff_id:
        raise InvalidHandover("不能交接给同一个人")
    source = get_staff(tenant_id=tenant_id, staff_id=from_staff_id)
    target = acting_staff(tenant_id=tenant_id, staff_id=to_staff_id)
    stmt = select(Customer.id).where(Customer.tenant_id == tenant_id,
                                     Customer.owner_staff_id == source.id)
    if customer_ids is not None:
        wanted = sorted(set(customer_ids))
        if not wanted:
            raise InvalidHandover("请选择要交接的客户")
        stmt = stmt.where(Customer.id.in_(wanted))
    ids = list(db.session.scalars(stmt.order_by(Customer.id)))
    if customer_ids is not None and len(ids) != len(set(customer_ids)):
        missing = sorted(set(customer_ids) - set(ids))
        raise InvalidHandover("部分客户不属于该员工", details={"customer_ids": missing})
    moved = 0
    for i in range(0, len(ids), CHUNK):
        moved += _move_chunk(tenant_id, ids[i:i + CHUNK], source.id, target.id, now)
    record_audit(tenant_id=tenant_id, actor=actor, action="scrm.handover", target_type="staff",
                 target_id=source.id, before={"owner_staff_id": source.id},
                 after={"owner_staff_id": target.id, "customers": moved,
                        "selected": customer_ids is not None})
    return moved


def _move_chunk(tenant_id: int, ids: list[int], from_id: int, to_id: int, now: datetime) -> int:
    # Lock the rows in id order, then keep only those still owned by the leaver (a racing
    # hand-over may have moved some meanwhile).
    locked = list(db.session.scalars(select(Customer.id).where(
        Customer.tenant_id == tenant_id, Customer.id.in_(ids), Customer.owner_staff_id == from_id)
        .order_by(Customer.id).with_for_update()))
    if not locked:
        return 0
    db.session.execute(update(Ownership).where(
        Ownership.tenant_id == tenant_id, Ownership.customer_id.in_(locked),
        Ownership.ended_at.is_(None)).values(ended_at=now, end_reason="handover")
        .execution_options(synchronize_session=False))
    db.session.execute(insert(Ownership), [
        {"tenant_id": tenant_id, "customer_id": cid, "staff_id": to_id, "reason": "handover",
         "started_at": now} for cid in locked])
    db.session.execute(update(Customer).where(Customer.tenant_id == tenant_id,
                                              Customer.id.in_(locked))
                       .values(owner_staff_id=to_id, owned_since=now, updated_at=now)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Reminder).where(
        Reminder.tenant_id == tenant_id, Reminder.customer_id.in_(locked),
        Reminder.staff_id == from_id, Reminder.status == ReminderStatus.PENDING)
        .values(staff_id=to_id).execution_options(synchronize_session=False))
    day = china_day(now)
    db.session.execute(insert(CustomerEvent), [
        {"tenant_id": tenant_id, "customer_id": cid, "staff_id": to_id, "kind": "handover",
         "content": "客户由其他员工交接而来", "data": {"from_staff_id": from_id, "to_staff_id": to_id},
         "at": now, "day": day} for cid in locked])
    return len(locked)


def ownership_history(*, tenant_id: int, customer_id: int) -> list[Ownership]:
    """Every ownership period of a customer, oldest first."""
    return list(db.session.scalars(select(Ownership).where(
        Ownership.tenant_id == tenant_id, Ownership.customer_id == customer_id)
        .order_by(Ownership.started_at, Ownership.id)))


def ownership_view(o: Ownership) -> dict[str, Any]:
    return {"staff_id": o.staff_id, "reason": o.reason, "started_at": o.started_at.isoformat(),
            "ended_at": o.ended_at.isoformat() if o.ended_at else None, "end_reason": o.end_reason}
