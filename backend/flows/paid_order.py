"""The paid-order follow-up (支付后处理): what a payment sets off once the order is paid.

A flow: it meets members, rewards, finance and orders (whose queue of pending orders
is backend/orders/paid.py) through their services.

The payment notification's unit of work only verifies, locks the order, checks it and
marks it paid (`orders.mark_paid` sets `followup_pending`). The follow-up then, for a
batch of paid orders of one tenant in one unit of work:

1. confirms the buyers' parked bindings and stamps their purchase (members);
2. reads the order lines and the buyers' uplines (one statement each for the batch);
3. computes and records every line's payouts on that upline (rewards, one INSERT per
   table for the batch);
4. posts the payments and the frozen rewards to the ledger, with the accruals and the
   commission alerts (finance, one ledger batch);
5. clears `followup_pending`.

Exactly once: the orders are locked (FOR UPDATE, re-checking `followup_pending` under
the lock) and every row written has a unique key, so a second runner, a crash and a
retry change nothing twice.

When it runs (`FOLLOWUP` setting, env `PAID_FOLLOWUP`):
- `inline` (default): right after the payment's unit of work commits, in the same
  request, for that order alone;
- `worker`: the scheduler job `orders.follow_up_paid_orders` drains the backlog in
  batches (claimed with SKIP LOCKED, so several runners share it), which is how a
  payment storm is absorbed: the notification is answered after one short transaction
  and the follow-up costs a few statements per batch instead of per order.
Either way the job sweeps up whatever an inline run did not finish (a crash between
the two commits), and any path that changes a paid order's money first (a refund,
completion) runs the follow-up of that order under its lock (`ensure_followed_up`, called by the flows of those events: backend/flows/orders.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from itertools import groupby
from typing import Any

from flask import current_app

from backend.db import after_commit, read_committed, run_in_unit_of_work, utcnow
from backend.events import announce
from backend.extensions import db
from backend.finance import service as finance
from backend.members import service as members
from backend.orders import paid as queue
from backend.rewards import service as rewards
from backend.rewards.engine import OrderLine as RewardOrderLine
from backend.rewards.errors import NoActivePlan

log = logging.getLogger(__name__)

BATCH = 100  # orders per unit of work in the worker


def follow_up(*, tenant_id: int, order_ids: Sequence[int], now: datetime) -> int:
    """Run the follow-up of these paid orders of one tenant (those still pending, under
    their row locks) in the caller's unit of work; returns how many it ran."""
    if not order_ids:
        return 0
    orders = queue.lock_pending(tenant_id=tenant_id, order_ids=order_ids)
    return _follow_up_locked(tenant_id, orders, now)


def _follow_up_locked(tenant_id: int, orders: Sequence[Any], now: datetime) -> int:
    """The follow-up of pending orders this transaction has locked (rows of
    (id, member_id, paid_fen, paid_at), one tenant's)."""
    if not orders:
        return 0
    ids = [o.id for o in orders]
    # 1. Buyers: parked bindings confirmed before their upline is read.
    members.record_purchases(tenant_id=tenant_id, member_ids=[o.member_id for o in orders], now=now)
    # 2. Lines, buyers and uplines as plain rows, one statement each.
    lines = queue.paid_lines(tenant_id=tenant_id, order_ids=ids)
    people = members.reward_profiles(tenant_id=tenant_id, member_ids=[o.member_id for o in orders])
    uplines = {m: members.upline_ids(row.path) for m, row in people.items()}
    wanted = sorted({a for up in uplines.values() for a in up} - people.keys())
    if wanted:
        people.update(members.reward_profiles(tenant_id=tenant_id, member_ids=wanted))
    # 3. Rewards on the upline as it stands (the payment's moment, a batch later).
    batch = []
    for o in orders:
        chain = tuple(rewards.chain_member(people[i]) for i in uplines[o.member_id] if i in people)
        batch.append((rewards.OrderSnapshot(
            order_id=o.id, buyer=rewards.buyer_snapshot(people[o.member_id]), paid_at=o.paid_at or now,
            lines=tuple(RewardOrderLine(order_line_id=ln.id, product_id=ln.product_id, sku_id=ln.sku_id,
                                        quantity=ln.quantity, paid_fen=ln.paid_fen, cost_fen=ln.cost_fen)
                        for ln in lines[o.id])), chain))
    try:
        payouts = rewards.record_orders_payouts(tenant_id=tenant_id, orders=batch)
    except NoActivePlan:  # raised by its first read, before it writes anything
        payouts = {}  # a brand without a plan pays no rewards
    # 4. Money: payments and frozen rewards, accruals, alerts.
    finance.on_orders_paid(tenant_id=tenant_id, now=now, orders=[
        finance.PaidOrder(o.id, o.paid_fen, payouts.get(o.id, [])) for o in orders])
    # 5. Done; the flows above act on it (a restock's pieces, backend/flows/agent_channel.py).
    queue.clear_pending(tenant_id=tenant_id, order_ids=ids)
    announce("orders_followed_up", tenant_id=tenant_id, order_ids=ids, now=now)
    return len(ids)


def _read_committed_then(fn: Any, **kwargs: Any) -> int:
    # Its own unit of work: rows that do not exist yet are checked under unique keys and
    # the orders' row locks, never gap locks (see backend.db.read_committed).
    read_committed()
    return int(fn(**kwargs))


def ensure_followed_up(*, tenant_id: int, order_id: int, pending: bool, now: datetime) -> None:
    """Before a path changes a paid order's money (refund, completion): its follow-up has
    run. The caller holds the order's row lock; `pending` is its followup_pending."""
    if pending:
        follow_up(tenant_id=tenant_id, order_ids=[order_id], now=now)
        queue.forget_pending_flag(order_id=order_id)


def schedule(*, tenant_id: int, order_id: int) -> None:
    """A payment's hand-over: inline after the commit, or left to the worker."""
    if current_app.config["SIYU_SETTINGS"].paid_followup != "inline":
        return

    def run() -> None:
        run_in_unit_of_work(lambda: _read_committed_then(follow_up, tenant_id=tenant_id, order_ids=[order_id],
                                                          now=utcnow()))

    after_commit(run)


# A backlog older than this means nothing is draining it (PAID_FOLLOWUP=worker without
# the scheduler, or the job failing): rewards and postings wait.
STALLED_AFTER = timedelta(minutes=2)


def backlog(*, now: datetime) -> tuple[int, float | None, bool]:
    """(paid orders awaiting their follow-up, age in seconds of the oldest, stalled):
    an index range of just the pending orders."""
    count, oldest = queue.backlog_counts()
    if not count:
        return 0, None, False
    age = (now - oldest).total_seconds() if oldest is not None else None
    return int(count), age, age is not None and age > STALLED_AFTER.total_seconds()


def follow_up_backlog(*, now: datetime, limit: int = BATCH) -> int:
    """One batch of the backlog, oldest first, in the caller's unit of work: the orders
    are claimed with SKIP LOCKED (MariaDB), so concurrent runners take different ones.
    Returns how many orders it followed up."""
    claimed = queue.claim_backlog(limit=limit)
    done = 0
    # The claim read and locked what the follow-up needs: no second read of the orders.
    for tenant_id, rows in groupby(sorted(claimed, key=lambda r: (r.tenant_id, r.id)), key=lambda r: r.tenant_id):
        done += _follow_up_locked(tenant_id, list(rows), now)
    return done


def stamp_next_buyers(*, now: datetime, limit: int = BATCH) -> int:
    """Stamp the purchases of the next batch's buyers (members.record_purchases) in a
    unit of work of its own, just before the batch. The batch stamps them again, in its
    own transaction, as ever; but a stamp moves only once a minute
    (members.PURCHASE_STAMP_GRAIN), so the batch's then matches nothing and locks no
    member row. Otherwise the batch would hold its buyers' rows from its first statement
    to its commit, and every new order of those buyers (whose INSERT takes a shared lock
    on the buyer's row: the foreign key) would wait for the whole batch. Here the rows
    are locked for one UPDATE and a commit. A stamp is a fact of a paid order, so one
    that commits ahead of a batch that fails is still true. Returns the buyers seen."""
    buyers = queue.pending_buyers(limit=limit)
    for tenant_id, rows in groupby(buyers, key=lambda r: r[0]):
        members.record_purchases(tenant_id=tenant_id, member_ids=[m for _, m in rows], now=now)
    return len(buyers)


def drain(*, now_fn: Any = utcnow, limit: int = BATCH, max_batches: int | None = None) -> int:
    """Follow up batches while they come back full (or max_batches ran); each batch is
    its own unit of work. A batch that fails for another reason than a deadlock is
    retried order by order, so one bad order holds up only itself.

    A partial batch means the backlog is caught up: the run ends there, and the next
    (the job's interval later) finds the orders paid meanwhile as one batch. Looping on
    would chase each payment as it lands, paying a batch's twenty-odd statements for
    one or two orders."""
    total = batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        try:
            run_in_unit_of_work(lambda: _read_committed_then(stamp_next_buyers, now=now_fn(), limit=limit))
        except Exception:  # an optimisation only: the batch stamps its buyers itself
            log.exception("paid-order follow-up: stamping the next batch's buyers failed")
        try:
            done = run_in_unit_of_work(lambda: _read_committed_then(follow_up_backlog, now=now_fn(), limit=limit))
        except Exception:
            log.exception("paid-order follow-up batch failed; retrying its orders one by one")
            done = _one_by_one(now_fn, limit)
        total += done
        if done < limit:
            break
    return total


def _follow_up_one(tenant_id: int, order_id: int, now_fn: Callable[[], datetime]) -> int:
    return _read_committed_then(follow_up, tenant_id=tenant_id, order_ids=[order_id], now=now_fn())


def _one_by_one(now_fn: Any, limit: int) -> int:
    due = queue.pending_ids(limit=limit)
    db.session.rollback()
    done = 0
    for tenant_id, order_id in due:
        try:
            done += run_in_unit_of_work(partial(_follow_up_one, tenant_id, order_id, now_fn))
        except Exception:
            log.exception("paid-order follow-up of order %s failed", order_id)
    return done
