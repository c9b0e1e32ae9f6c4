"""The orders domain's side of the paid-order follow-up: the queue of paid orders whose
follow-up (backend/flows/paid_order.py) has not run yet, read and cleared with Core
statements (a few columns, one statement per batch: this is the payment path).

An order joins the queue when `mark_paid` sets `followup_pending`; the follow-up takes
a batch under the orders' row locks (FOR UPDATE, re-checking the flag under the lock)
and clears the flag in the same unit of work as everything it writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update

from backend.db import expire_loaded, is_mysql
from backend.extensions import db
from backend.orders.models import Order, OrderLine

_orders = Order.__table__
_lines = OrderLine.__table__

# A batch of orders locked by id walks the primary key. Left to itself, MariaDB may
# take a long IN list of one tenant's ids through ix_orders_tenant_id and lock every
# order it passes on that range, new ones included: an order a restock has just
# inserted (uncommitted) then blocks the follow-up, which holds the merchant's ledger
# shards that restock is about to credit, and one of them dies in a deadlock.
BY_ID = "FORCE INDEX (PRIMARY)"

# A pending paid order as the follow-up reads it (under its row lock).
_PENDING_COLUMNS = (_orders.c.id, _orders.c.member_id, _orders.c.paid_fen, _orders.c.paid_at)
_PENDING_LOCKED = (
    select(*_PENDING_COLUMNS)
    .where(_orders.c.tenant_id == bindparam("tenant_id"), _orders.c.id.in_(bindparam("ids", expanding=True)),
           _orders.c.followup_pending.is_(True))
    .with_hint(_orders, BY_ID, dialect_name="mysql")
    .order_by(_orders.c.id).with_for_update())
_LINES = (
    select(_lines.c.id, _lines.c.order_id, _lines.c.product_id, _lines.c.sku_id, _lines.c.quantity,
           _lines.c.paid_fen, _lines.c.cost_fen)
    .where(_lines.c.tenant_id == bindparam("tenant_id"), _lines.c.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(_lines.c.id))
_DONE = (update(_orders).where(_orders.c.tenant_id == bindparam("tenant"),
                               _orders.c.id.in_(bindparam("ids", expanding=True)))
         .values(followup_pending=None))
_BACKLOG = select(func.count(), func.min(_orders.c.paid_at)).where(_orders.c.followup_pending.is_(True))
_CLAIM = (select(_orders.c.tenant_id, *_PENDING_COLUMNS).where(_orders.c.followup_pending.is_(True))
          .order_by(_orders.c.id).limit(bindparam("limit")))


def lock_pending(*, tenant_id: int, order_ids: Sequence[int]) -> list[Any]:
    """These orders of one tenant whose follow-up is still pending, under their row
    locks, oldest first: rows of (id, member_id, paid_fen, paid_at)."""
    # Pending changes of the caller (an ORM order it marked) reach the database first.
    db.session.flush()
    return list(db.session.execute(_PENDING_LOCKED, {"tenant_id": tenant_id, "ids": sorted(set(order_ids))}))


def paid_lines(*, tenant_id: int, order_ids: Sequence[int]) -> dict[int, list[Any]]:
    """The lines of these orders as plain rows (id, order_id, product_id, sku_id,
    quantity, paid_fen, cost_fen), one statement, by order id."""
    lines: dict[int, list[Any]] = {i: [] for i in order_ids}
    for ln in db.session.execute(_LINES, {"tenant_id": tenant_id, "ids": list(order_ids)}):
        lines[ln.order_id].append(ln)
    return lines


def clear_pending(*, tenant_id: int, order_ids: Sequence[int]) -> None:
    """Their follow-up ran: they leave the queue."""
    db.session.execute(_DONE, {"tenant": tenant_id, "ids": list(order_ids)})


def forget_pending_flag(*, order_id: int) -> None:
    """A caller's ORM copy of the order reloads followup_pending (cleared by a Core UPDATE)."""
    expire_loaded(Order, [order_id], ["followup_pending"])


def backlog_counts() -> tuple[int, datetime | None]:
    """(paid orders awaiting their follow-up, paid_at of the oldest): an index range."""
    count, oldest = db.session.execute(_BACKLOG).one()
    return int(count or 0), oldest


def claim_backlog(*, limit: int) -> list[Any]:
    """The oldest pending orders of any tenant, locked with SKIP LOCKED on MariaDB, so
    concurrent runners take different ones: rows of (tenant_id, id, member_id,
    paid_fen, paid_at)."""
    stmt = _CLAIM.with_for_update(skip_locked=True) if is_mysql() else _CLAIM
    return list(db.session.execute(stmt, {"limit": limit}))


def pending_buyers(*, limit: int) -> list[tuple[int, int]]:
    """(tenant_id, member_id) of the buyers of the oldest pending orders, without locking."""
    return sorted({(r.tenant_id, r.member_id) for r in db.session.execute(_CLAIM, {"limit": limit})})


def pending_ids(*, limit: int) -> list[tuple[int, int]]:
    """(tenant_id, order_id) of the oldest pending orders, without locking them."""
    return [(r.tenant_id, r.id) for r in db.session.execute(_CLAIM, {"limit": limit})]
